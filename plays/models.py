"""Plays (SPEC §9): a trigger on the day's results turns into a task, a message and a webhook.

A `Play` says when (trigger + optional segment-rule condition) and what (task template, who,
channels). Each time it fires for an account on a day there is one `PlayFiring` (unique per play,
account and day: a re-run of the day fires nothing twice), which opens or refreshes a `Task` and
queues one `Delivery` per channel. `TimelineNote` is what the team writes about an account.
"""

from django.conf import settings
from django.db import models

from accounts.models import Account


class TriggerType(models.TextChoices):
    SEGMENT_ENTERED = "segment_entered", "Entered a segment"
    SEGMENT_LEFT = "segment_left", "Left a segment"
    BAND_BECAME = "band_became", "Band became"
    SCORE_DROPPED = "score_dropped", "Score dropped within 7 days"
    RENEWAL_WITHIN = "renewal_within", "Renewal is N days away"
    DRIVER_UNUSED = "driver_unused", "Stated driver unused for 90 days"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class Play(models.Model):
    """When an account meets the trigger (and the condition) on a published day, act.

    `trigger` is the document form: {"type": …, "segment"|"band"|"points"|"days": …}.
    `condition` is a SPEC §6 segment rule or None. `notify` lists channels: "email" (the
    assignee) and Apprise URLs. `webhook_secret` signs the webhook body; it is never exported.
    """

    name = models.CharField(max_length=120, unique=True)
    active = models.BooleanField(default=True)
    trigger = models.JSONField(default=dict)
    condition = models.JSONField(null=True, blank=True)
    cooldown_days = models.PositiveIntegerField(default=0)
    creates_task = models.BooleanField(default=True)
    task_title = models.CharField(max_length=300, blank=True)
    task_body = models.TextField(blank=True)
    task_assignee = models.CharField(
        max_length=200, default="owner", help_text="owner, user:<email> or group:<group name>"
    )
    task_due_in_days = models.PositiveIntegerField(default=3)
    task_priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    notify = models.JSONField(default=list, blank=True)
    webhook_url = models.URLField(max_length=500, blank=True)
    webhook_secret = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def trigger_type(self) -> str:
        return (self.trigger or {}).get("type", "")


class PlayFiring(models.Model):
    """A play fired for an account on a published day, with why in words and the facts behind it."""

    play = models.ForeignKey(Play, on_delete=models.CASCADE, related_name="firings")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="play_firings")
    day = models.DateField()
    why = models.TextField()
    facts = models.JSONField(default=dict)
    task = models.ForeignKey("Task", on_delete=models.SET_NULL, null=True, blank=True, related_name="firings")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day", "-id"]
        constraints = [models.UniqueConstraint(fields=["play", "account", "day"], name="uniq_firing_play_account_day")]
        indexes = [
            models.Index(fields=["play", "account", "-day"], name="firing_cooldown_idx"),
            models.Index(fields=["day"], name="firing_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.play} → {self.account_id} on {self.day}"


class TaskQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status=Task.Status.OPEN)

    def for_list(self):
        return self.select_related("account", "account__vertical", "play", "assignee", "closed_by")


class Task(models.Model):
    """Work for a person about an account: opened by a play (with why) or written by hand."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        DISMISSED = "dismissed", "Dismissed"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tasks")
    play = models.ForeignKey(Play, on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks")
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks"
    )
    due_date = models.DateField(null=True, blank=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateField(null=True, blank=True)
    why = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["due_date", "-priority", "id"]
        indexes = [
            models.Index(fields=["assignee", "status", "due_date"], name="task_assignee_idx"),
            models.Index(fields=["account", "status"], name="task_account_idx"),
        ]
        constraints = [
            # Dedupe, enforced: one open task per play and account (manual tasks have no play).
            models.UniqueConstraint(
                fields=["play", "account"],
                condition=models.Q(status="open", play__isnull=False),
                name="uniq_open_task_per_play",
            )
        ]

    def __str__(self) -> str:
        return self.title


class TaskEvent(models.Model):
    """Who did what to a task and when (opened, refreshed, done, dismissed, reassigned, snoozed, reopened)."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    text = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.task_id} {self.kind}"


class TimelineNote(models.Model):
    """What the team writes about an account: a call, a meeting, an email, a note."""

    class Kind(models.TextChoices):
        CALL = "call", "Call"
        MEETING = "meeting", "Meeting"
        EMAIL = "email", "Email"
        NOTE = "note", "Note"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.NOTE)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    date = models.DateField()
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["account", "-date"], name="note_account_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.date}"


class Delivery(models.Model):
    """One message of one firing on one channel ("email", an Apprise URL, "webhook").

    (firing, channel) is unique and `key` is sent along (header `Idempotency-Key`), so delivery
    is at-least-once and a receiver can drop a repeat. `payload` is built once, when queued: a
    retry or a resend sends the same body.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (gave up)"
        SKIPPED = "skipped", "Skipped"

    firing = models.ForeignKey(PlayFiring, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=500)
    key = models.CharField(max_length=64, unique=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["firing", "channel"], name="uniq_delivery_firing_channel")]
        indexes = [models.Index(fields=["status", "created_at"], name="delivery_status_idx")]

    def __str__(self) -> str:
        return f"{self.kind} for firing {self.firing_id}: {self.status}"

    @property
    def kind(self) -> str:
        if self.channel in ("email", "webhook"):
            return self.channel
        return self.channel.split("://", 1)[0] + " (Apprise)"


class DeliveryAttempt(models.Model):
    """One try of a delivery: HTTP status (webhooks), how long it took, the error if any."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    ok = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"attempt of {self.delivery_id}: {self.status_code or self.error[:40]}"
