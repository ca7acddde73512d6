"""Segments: named rules over accounts (SPEC §6), with their membership history."""

from django.db import models
from django.utils.text import slugify

from accounts.models import Account
from health.models import RESULTS_FK


class TouchModel(models.TextChoices):
    HIGH = "high", "High-touch"
    MID = "mid", "Mid-touch"
    SELF_SERVICE = "self_service", "Self-service"


class Segment(models.Model):
    """A named rule over accounts. Matching active segments give an account its touch model:
    the one with the highest priority that has a touch model (ties: name A→Z)."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=140, unique=True, editable=False)
    description = models.TextField(blank=True)
    touch_model = models.CharField(max_length=16, choices=TouchModel.choices, blank=True)
    priority = models.IntegerField(default=0)
    active = models.BooleanField(default=True)
    rule = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)[:140] or "segment"
        super().save(*args, **kwargs)


class SegmentMembership(models.Model):
    """An account's stay in a segment: entered on a date, left on a date (empty while a member).

    Kept by diffing each recompute against the open rows, never by rewriting history.
    """

    # Checked set-based when a day is published, not per row (see health.models.RESULTS_FK); the
    # (segment, left_on) and (account, left_on) indexes serve as the references' own indexes.
    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="memberships", db_index=False, **RESULTS_FK
    )
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="segment_memberships", db_index=False, **RESULTS_FK
    )
    entered_on = models.DateField()
    left_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-entered_on"]
        indexes = [
            models.Index(fields=["segment", "left_on"], name="membership_open_idx"),
            models.Index(fields=["account", "left_on"], name="membership_account_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} in {self.segment_id} {self.entered_on}–{self.left_on or ''}"


class SegmentDay(models.Model):
    """One segment on one day: its members (stays including the day) and their ARR, written with
    the day's results right after the segments are recomputed (replaced on a re-run of the same
    date), so the segment list does not join every membership to its account per request."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    members = models.PositiveIntegerField(default=0)
    arr = models.DecimalField("ARR", max_digits=16, decimal_places=2, default=0)

    class Meta:
        ordering = ["segment", "day"]
        constraints = [models.UniqueConstraint(fields=["segment", "day"], name="uniq_segment_day")]
        indexes = [models.Index(fields=["day"], name="segment_day_day_idx")]

    def __str__(self) -> str:
        return f"{self.segment_id} {self.day}: {self.members} members"


class TouchModelDay(models.Model):
    """An account's touch model on one day: that of the highest-priority active segment with a touch
    model it belongs to (ties: name A→Z). Written by the recompute (segments.services
    .segments_recompute, replaced on a re-run of the day); no row: no touch model that day."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="touch_model_days", **RESULTS_FK)
    day = models.DateField()
    touch_model = models.CharField(max_length=16, choices=TouchModel.choices)

    class Meta:
        ordering = ["day", "account"]
        constraints = [models.UniqueConstraint(fields=["day", "account"], name="uniq_touch_model_day")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.day}: {self.touch_model}"
