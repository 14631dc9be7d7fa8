"""Who acted, by kind (staff, citizen, door, system), and entries dated by the change they
record (``created_at`` set by the service rather than at insert)."""

import django.utils.timezone
from django.db import migrations, models

# SQLite rebuilds the table to add a column, and the rebuild drops the table's triggers: the
# append-only trigger of core/0003 is put back afterwards. PostgreSQL alters in place.
SQLITE_CREATE = """
CREATE TRIGGER IF NOT EXISTS core_auditentry_no_update BEFORE UPDATE ON core_auditentry
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


def trigger_restore(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_CREATE)


class Migration(migrations.Migration):
    dependencies = [("core", "0004_outgoing_email")]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="actor_kind",
            field=models.CharField(
                blank=True,
                choices=[
                    ("staff", "Staff"),
                    ("citizen", "Citizen"),
                    ("door", "Door"),
                    ("system", "System"),
                ],
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="created_at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
        migrations.RunPython(trigger_restore, migrations.RunPython.noop),
    ]
