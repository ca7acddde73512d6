from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A member of the CS team who logs in: a CSM, a CS leader or an admin.

    Not to be confused with `accounts.Account`, the customer companies the team looks after.
    Roles are Django groups (see `people.roles`).
    """

    email = models.EmailField("email address", blank=True, db_index=True)

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.email or self.username


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A personal API token for integrations. Only a SHA-256 hash of the key is stored; the key
    itself is shown once, when created. A token acts with its owner's role; the `ingest` scope
    additionally lets it post usage and NPS rows."""

    SCOPE_READ = "read"
    SCOPE_INGEST = "ingest"
    SCOPE_CHOICES = [(SCOPE_READ, "Read and act with my role"), (SCOPE_INGEST, "Also ingest usage and NPS")]

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=10, choices=SCOPE_CHOICES, default=SCOPE_READ)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def can_ingest(self) -> bool:
        return self.scope == self.SCOPE_INGEST and self.revoked_at is None
