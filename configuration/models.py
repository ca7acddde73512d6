"""The audit trail of the rules: who changed which scorecard, segment or journey, when, from what to what."""

from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """One change to one rule object, with the object before and after in the apply_config document shape.

    Keeping the document shape (not model rows) makes the diff readable and lets a revert go
    through `config_apply`, the same validation as every other write.
    """

    class Kind(models.TextChoices):
        SCORECARDS = "scorecards", "Scorecard"
        SEGMENTS = "segments", "Segment"
        JOURNEYS = "journeys", "Journey"
        PLAYS = "plays", "Play"

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        DELETED = "deleted", "Deleted"

    class Source(models.TextChoices):
        ADMIN = "admin", "Admin"
        API = "api", "API"
        APPLY_CONFIG = "apply_config", "apply_config"
        REVERT = "revert", "Revert"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    object_id = models.BigIntegerField(null=True, blank=True)
    name = models.CharField(max_length=255)
    action = models.CharField(max_length=10, choices=Action.choices)
    source = models.CharField(max_length=16, choices=Source.choices)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reverted_from = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reason = models.TextField(blank=True, help_text="Why (asked of a revert)")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "change history entry"
        verbose_name_plural = "change history"
        indexes = [models.Index(fields=["kind", "object_id", "-created_at"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} '{self.name}' {self.action} by {self.actor or self.source}"
