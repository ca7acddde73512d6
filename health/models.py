"""Scorecards (how health is scored per vertical / use case) and the daily results of the engine."""

from django.core.exceptions import ValidationError
from django.db import models

from accounts.models import Account, UseCase, Vertical
from health.metrics_catalog import METRIC_CHOICES


class Band(models.TextChoices):
    HEALTHY = "healthy", "Healthy"
    NEUTRAL = "neutral", "Neutral"
    AT_RISK = "at_risk", "At risk"
    UNKNOWN = "unknown", "Unknown"
    CHURNED = "churned", "Churned"
    NOT_STARTED = "not_started", "Not started"


# Bands of accounts that are not customers as of the day (SPEC §5.2): no score, in no segment, no
# touch model, left out of ARR totals and of every count of accounts.
NOT_CUSTOMER_BANDS = (Band.CHURNED, Band.NOT_STARTED)


# The bands of an account that is a customer on the day (churned accounts are in no segment and
# no count): what a segment rule can name, what the dashboards count.
CUSTOMER_BANDS = (Band.HEALTHY, Band.NEUTRAL, Band.AT_RISK, Band.UNKNOWN)

# A scorecard's band thresholds unless it says otherwise (SPEC §5.2).
DEFAULT_HEALTHY_AT = 70
DEFAULT_AT_RISK_BELOW = 40

# An account is "slipping" when its score fell by SLIPPING_POINTS or more in SLIPPING_DAYS days.
SLIPPING_POINTS = 15
SLIPPING_DAYS = 30


class Scorecard(models.Model):
    """How health is scored for a scope: a vertical and/or a primary use case (empty = any).

    The engine picks, per account, the first active scorecard of (vertical, use case),
    (vertical, any), (any, use case), (any, any).
    """

    name = models.CharField(max_length=120, unique=True)
    vertical = models.ForeignKey(Vertical, on_delete=models.PROTECT, null=True, blank=True, related_name="scorecards")
    use_case = models.ForeignKey(UseCase, on_delete=models.PROTECT, null=True, blank=True, related_name="scorecards")
    active = models.BooleanField(default=True)
    # When its scoring (measures, thresholds, scope, active) last changed — written with every
    # change-history entry — so the backtest can tell which days were scored under older rules.
    rules_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    healthy_at = models.PositiveSmallIntegerField(default=DEFAULT_HEALTHY_AT)
    at_risk_below = models.PositiveSmallIntegerField(default=DEFAULT_AT_RISK_BELOW)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        if self.at_risk_below > self.healthy_at:
            raise ValidationError({"at_risk_below": "must be at most healthy_at"})


class Measure(models.Model):
    """One metric of a scorecard: scored 0 at `red`, 100 at `green`, linear and clamped between."""

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="measures")
    metric = models.CharField(max_length=40, choices=METRIC_CHOICES)
    weight = models.DecimalField(max_digits=8, decimal_places=3, default=1)
    red = models.DecimalField(max_digits=14, decimal_places=3)
    green = models.DecimalField(max_digits=14, decimal_places=3)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["scorecard", "position", "id"]

    def __str__(self) -> str:
        return f"{self.scorecard}: {self.get_metric_display()}"

    def clean(self):
        errors = {}
        if self.weight is not None and self.weight <= 0:
            errors["weight"] = "must be greater than 0"
        if self.red is not None and self.red == self.green:
            errors["green"] = "must differ from red"
        if errors:
            raise ValidationError(errors)


# The results tables are bulk-written every night (one row per account and day): their references
# are checked set-based when a day is published (health.services.results_references_lock), not by
# a per-row foreign-key trigger at commit. Deletes still cascade / set NULL through the ORM, and
# an account's own index is the (account, as_of) unique one.
RESULTS_FK = {"db_constraint": False}


class AccountMetrics(models.Model):
    """The §5.1 usage metrics of one account as of one date (kept daily for trends)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="metrics", db_index=False, **RESULTS_FK)
    as_of = models.DateField()
    active_days_30d = models.PositiveIntegerField(default=0)
    active_days_90d = models.PositiveIntegerField(default=0)
    active_days_365d = models.PositiveIntegerField(default=0)
    active_months_365d = models.PositiveSmallIntegerField(default=0)
    events_30d = models.BigIntegerField(default=0)
    active_users_30d = models.PositiveIntegerField(default=0)
    seat_utilization_30d = models.FloatField(null=True, blank=True)
    features_used_90d = models.PositiveIntegerField(default=0)
    days_since_last_activity = models.IntegerField(null=True, blank=True)
    nps_latest = models.PositiveSmallIntegerField(null=True, blank=True)
    journey_progress = models.FloatField(null=True, blank=True)
    journey_stage = models.ForeignKey(
        "journeys.Stage", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", **RESULTS_FK
    )

    class Meta:
        verbose_name_plural = "account metrics"
        constraints = [models.UniqueConstraint(fields=["account", "as_of"], name="uniq_metrics_account_day")]
        indexes = [models.Index(fields=["as_of"], name="metrics_as_of_idx")]

    def __str__(self) -> str:
        return f"metrics of {self.account_id} on {self.as_of}"


class HealthScore(models.Model):
    """An account's health on one day: score, band, the scorecard used and, in `measures`, the why.

    `measures` is a list of {metric, value, score, weight, points_lost, lift_value}: `lift_value`
    is the value of that metric that would lift the account into the next band, others unchanged.
    `tier` is the account's as of that day (its touch model is segments.TouchModelDay's).
    """

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="health_scores", db_index=False, **RESULTS_FK
    )
    as_of = models.DateField()
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    band = models.CharField(max_length=12, choices=Band.choices, default=Band.UNKNOWN)
    scorecard = models.ForeignKey(
        Scorecard, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", **RESULTS_FK
    )
    measures = models.JSONField(default=list, blank=True)
    tier = models.ForeignKey(
        "accounts.Tier", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", **RESULTS_FK
    )
    # Joined in when the day is published (health.services.health_day_publish), so the
    # risk list is a filter on one day's rows rather than a join of two days for every account:
    # the score SLIPPING_DAYS before (NULL when there was none) and whether the score fell by
    # SLIPPING_POINTS or more since then. `slipping` is NULL on days published before it existed.
    score_30d_ago = models.SmallIntegerField(null=True, blank=True)  # no CHECK: adding one scans the table
    slipping = models.BooleanField(null=True, blank=True)
    # Freshness (SPEC §4.5): when the row was computed, and up to when the run had read every write
    # received (usage, NPS, account fields). NULL on rows published before they existed.
    computed_at = models.DateTimeField(null=True, blank=True)
    inputs_through = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "as_of"], name="uniq_health_account_day")]
        indexes = [
            # account_id included: the dashboards read (account, band) of one day for every account
            # straight from the index (an index-only scan), not from 100,000 heap rows.
            models.Index(fields=["as_of", "band"], include=["account"], name="health_day_band_idx"),
            # The risk list of a day (at risk or slipping): a few thousand entries, not 100,000 rows.
            # account_id is a key column, not included: walking the accounts largest ARR first,
            # each account is probed in this small index and a healthy one costs no heap read.
            models.Index(
                fields=["as_of", "account"],
                condition=models.Q(band="at_risk") | models.Q(slipping=True),
                name="health_day_risk_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.as_of}: {self.score} {self.band}"


class PublishedDay(models.Model):
    """A day whose results are complete: written last by the publish step (pipeline.services.publish),
    in the same transaction as the day's health, segments and rollups, so a reader that takes its
    day from here never sees half a day. `health.selectors.results_day()` is the latest of them.

    It lives with the results it vouches for (every reader sits below the pipeline); `run_id` is the
    pipeline's RecomputeRun that published it (NULL for days published before it existed).
    """

    day = models.DateField(unique=True)
    run_id = models.BigIntegerField(null=True, blank=True)
    published_at = models.DateTimeField()
    # The last incremental run that re-scored some of the day's accounts (SPEC §4.5); published_at
    # stays the full run's, which scored every account (the backtest dates rules by it).
    refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"published {self.day}"
