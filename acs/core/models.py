from django.db import models


class ProofOfWorkUse(models.Model):
    """A solved proof-of-work challenge, kept until it expires so it cannot be used twice."""

    signature = models.CharField(max_length=128, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.signature[:12]
