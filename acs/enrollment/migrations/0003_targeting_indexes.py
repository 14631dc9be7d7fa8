# The index selectors.enrollees_to_reach probes (see docs/enrollment.md).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('enrollment', '0002_accounts_and_retention'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='enrollee',
            index=models.Index(
                condition=models.Q(('active', True), ('email_verified_at__isnull', False)),
                fields=['id'],
                include=('post',),
                name='enrollee_reachable',
            ),
        ),
    ]
