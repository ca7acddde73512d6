"""The recompute's bookkeeping: runs, their chunks, and the staging table chunks write into."""

from django.db import models

from health.models import Band


class RecomputeRun(models.Model):
    """One recompute (nightly or on demand): when, for which date, how it went."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        REFUSED = "refused", "Refused (another run was in progress)"
        SCHEDULED = "scheduled", "Scheduled (incremental: waiting for the debounce)"
        CANCELLED = "cancelled", "Cancelled (by an admin)"

    as_of = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=20, default="manual")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    accounts_scored = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The last sign of progress (started, a chunk stored, publish begun). A run holding the lock with
    # no progress for RECOMPUTE_STALL_SECONDS is failed by the watchdog (pipeline.services).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # True while queued or running, NULL otherwise: the unique index lets one run hold it at a time.
    active_lock = models.BooleanField(null=True, default=True, unique=True, editable=False)
    # True while an incremental run waits for its debounce, NULL otherwise: at most one is scheduled,
    # so a burst of writes makes one run (pipeline.freshness).
    scheduled_lock = models.BooleanField(null=True, default=None, unique=True, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Recompute {self.as_of} ({self.status})"

    @property
    def seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class RecomputeChunk(models.Model):
    """One chunk of accounts a worker has computed; its rows wait in StagedResult until the run
    publishes them (in one transaction), so a failed run leaves the previous results untouched."""

    run = models.ForeignKey(RecomputeRun, on_delete=models.CASCADE, related_name="chunks")
    first_account_id = models.BigIntegerField()
    last_account_id = models.BigIntegerField()
    rows = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # A chunk redelivered by the broker (a worker killed before it acknowledged) is stored once.
        constraints = [models.UniqueConstraint(fields=["run", "first_account_id"], name="uniq_chunk_per_run")]

    def __str__(self) -> str:
        return f"chunk {self.first_account_id}–{self.last_account_id} of run {self.run_id}"


class StagedResult(models.Model):
    """One account's computed results in a run, in real columns, until publish copies them with
    INSERT … SELECT into health's AccountMetrics and HealthScore (then they are deleted).

    UNLOGGED on PostgreSQL (migration 0003): a crash loses the staged rows, which only fails the
    run — nothing is published half. No foreign keys: rows live minutes and are checked on publish.
    """

    pk = models.CompositePrimaryKey("run_id", "account_id")
    run_id = models.BigIntegerField()
    account_id = models.BigIntegerField()
    active_days_30d = models.IntegerField()
    active_days_90d = models.IntegerField()
    active_days_365d = models.IntegerField()
    active_months_365d = models.IntegerField()
    events_30d = models.BigIntegerField()
    active_users_30d = models.IntegerField()
    seat_utilization_30d = models.FloatField(null=True)
    features_used_90d = models.IntegerField()
    days_since_last_activity = models.IntegerField(null=True)
    nps_latest = models.SmallIntegerField(null=True)
    journey_progress = models.FloatField(null=True)
    journey_stage_id = models.BigIntegerField(null=True)
    score = models.SmallIntegerField(null=True)
    band = models.CharField(max_length=12, choices=Band.choices)
    scorecard_id = models.BigIntegerField(null=True)
    measures = models.JSONField(default=list)
    tier_id = models.BigIntegerField(null=True)

    def __str__(self) -> str:
        return f"staged {self.account_id} of run {self.run_id}"
