"""The outbox moves from the former ``delivery`` app into messages (docs/decisions/).

The tables keep their names (``delivery_delivery``, ``delivery_welfareresponse``), so an
installation that had the ``delivery`` app keeps every row: the models are created in the
migration state only, and the tables are created only where they do not exist yet (a new
installation). The content types follow the models. The audit log is append-only and keeps
the names it was written with."""

import acs.alerts.models
import django.db.models.deletion
import uuid
from django.db import migrations, models


def _create_missing_tables(apps, schema_editor) -> None:
    existing = set(schema_editor.connection.introspection.table_names())
    for name in ("Delivery", "WelfareResponse"):
        model = apps.get_model("alerts", name)
        if model._meta.db_table not in existing:
            schema_editor.create_model(model)


def _move_content_types(apps, schema_editor) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("delivery", "welfareresponse"):
        if not ContentType.objects.filter(app_label="alerts", model=model).exists():
            ContentType.objects.filter(app_label="delivery", model=model).update(
                app_label="alerts"
            )


class Migration(migrations.Migration):

    dependencies = [
        ('alerts', '0001_initial'),
        ('enrollment', '0003_targeting_indexes'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Delivery',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('channel', models.CharField(choices=[('email', 'Email'), ('sms', 'Text message (SMS)')], max_length=10, verbose_name='channel')),
                        ('address', models.CharField(max_length=254, verbose_name='address')),
                        ('language', models.CharField(max_length=5, verbose_name='language')),
                        ('token', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('status', models.CharField(choices=[('queued', 'Queued'), ('sending', 'Sending'), ('retrying', 'Retrying'), ('sent', 'Sent'), ('failed', 'Failed'), ('digest', 'In the daily digest')], default='queued', max_length=10, verbose_name='status')),
                        ('attempts', models.PositiveSmallIntegerField(default=0, verbose_name='attempts')),
                        ('claimed_at', models.DateTimeField(blank=True, null=True)),
                        ('claimed_by', models.CharField(blank=True, max_length=100)),
                        ('enqueued_at', models.DateTimeField(blank=True, null=True)),
                        ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                        ('sent_at', models.DateTimeField(blank=True, null=True, verbose_name='sent at')),
                        ('provider_id', models.CharField(blank=True, max_length=255, verbose_name='Message-ID')),
                        ('error', models.TextField(blank=True, verbose_name='reason')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('enrollee', models.ForeignKey(null=True, on_delete=acs.alerts.models.forget_recipient, related_name='deliveries', to='enrollment.enrollee')),
                        ('message', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='alerts.message')),
                    ],
                    options={
                        'verbose_name': 'delivery',
                        'verbose_name_plural': 'deliveries',
                        'db_table': 'delivery_delivery', 'default_permissions': (),
                    },
                ),
                migrations.CreateModel(
                    name='WelfareResponse',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('answer', models.CharField(choices=[('safe', 'I am safe'), ('help', 'I need help')], max_length=10, verbose_name='answer')),
                        ('answered_at', models.DateTimeField(verbose_name='answered at')),
                        ('delivery', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='welfare', to='alerts.delivery')),
                    ],
                    options={
                        'verbose_name': 'welfare answer',
                        'verbose_name_plural': 'welfare answers',
                        'db_table': 'delivery_welfareresponse', 'default_permissions': (),
                    },
                ),
                migrations.AddIndex(
                    model_name='delivery',
                    index=models.Index(fields=['message', 'status'], name='delivery_progress'),
                ),
                migrations.AddIndex(
                    model_name='delivery',
                    index=models.Index(condition=models.Q(('status__in', ['queued', 'sending', 'retrying'])), fields=['status', 'claimed_at'], name='delivery_open'),
                ),
                migrations.AddIndex(
                    model_name='delivery',
                    index=models.Index(condition=models.Q(('status', 'digest')), fields=['enrollee', 'channel'], name='delivery_digest'),
                ),
                migrations.AddConstraint(
                    model_name='delivery',
                    constraint=models.UniqueConstraint(fields=('message', 'enrollee', 'channel'), name='delivery_once_per_channel'),
                ),
            ],
        ),
        migrations.RunPython(_create_missing_tables, migrations.RunPython.noop),
        migrations.RunPython(_move_content_types, migrations.RunPython.noop),
    ]
