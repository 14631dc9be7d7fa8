"""One citizen account for the whole installation: an email address is unique across posts.

**Stops, does not merge.** Until now an address could have an account at each post. If this
installation has any such address, the migration stops before changing anything and names
the accounts (by id, not by address, so that the message can go into a ticket), because
merging two people's trips, homes, contacts and message choices is a decision for the people
who run the posts: delete or merge the extra accounts (``manage.py shell``), then migrate
again. An installation where every address has one account (every installation of one post)
migrates without a word.

The targeting index loses its ``post`` column: messages now find people by the regions of
the post's district, not by the post that opened the account.
"""

from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import Lower


def refuse_shared_addresses(apps, schema_editor):
    Enrollee = apps.get_model("enrollment", "Enrollee")
    shared = (
        Enrollee.objects.annotate(address=Lower("email"))
        .values("address")
        .annotate(accounts=Count("id"))
        .filter(accounts__gt=1)
        .values_list("address", flat=True)
    )
    ids = sorted(
        Enrollee.objects.annotate(address=Lower("email"))
        .filter(address__in=list(shared))
        .values_list("pk", flat=True)
    )
    if ids:
        raise RuntimeError(
            f"{len(shared)} email address(es) have an account at more than one post "
            f"(enrollee ids {', '.join(map(str, ids))}). One address may now have one "
            "account only. Merge or delete the extra accounts, then run migrate again; "
            "nothing was changed."
        )


class Migration(migrations.Migration):

    dependencies = [
        ("enrollment", "0003_targeting_indexes"),
    ]

    operations = [
        migrations.RunPython(refuse_shared_addresses, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="enrollee",
            name="enrollee_unique_email_per_post",
        ),
        migrations.RemoveIndex(
            model_name="enrollee",
            name="enrollee_reachable",
        ),
        migrations.AlterField(
            model_name="enrollee",
            name="post",
            field=models.ForeignKey(
                help_text=(
                    "Sets the time zone of the account's emails and the rules for idle "
                    "accounts. Staff of every post whose district holds one of the person's "
                    "trips or their home see the account, whichever post opened it."
                ),
                on_delete=models.deletion.PROTECT,
                related_name="enrollees",
                to="posts.post",
                verbose_name="post where the account was opened",
            ),
        ),
        migrations.AddIndex(
            model_name="enrollee",
            index=models.Index(
                condition=models.Q(("active", True), ("email_verified_at__isnull", False)),
                fields=["id"],
                name="enrollee_reachable",
            ),
        ),
        migrations.AddConstraint(
            model_name="enrollee",
            constraint=models.UniqueConstraint(fields=("email",), name="enrollee_unique_email"),
        ),
    ]
