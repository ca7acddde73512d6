"""Daily rollups the dashboards read instead of scanning a year of HealthScore rows per request."""

from django.db import models

from accounts.models import Vertical


class VerticalDay(models.Model):
    """One vertical on one day: accounts scored that day (churned left out), their ARR, the health
    mix, the ARR in the at-risk band and the median score.

    Written by the recompute's publish step (replaced on a re-run of the same date) and by
    `rollups_backfill` (and the migration that runs it) from existing HealthScore history; the JSON
    columns' schema is dashboards/rollups.py. ARR is the accounts' ARR when the
    row was written.
    """

    vertical = models.ForeignKey(Vertical, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    accounts = models.PositiveIntegerField(default=0)
    arr = models.DecimalField("ARR", max_digits=16, decimal_places=2, default=0)
    healthy = models.PositiveIntegerField(default=0)
    neutral = models.PositiveIntegerField(default=0)
    at_risk = models.PositiveIntegerField(default=0)
    unknown = models.PositiveIntegerField(default=0)
    arr_at_risk = models.DecimalField("ARR at risk", max_digits=16, decimal_places=2, default=0)
    median_score = models.FloatField(null=True, blank=True)
    # [[score, band, accounts], …] of the scored accounts: the health distribution.
    histogram = models.JSONField(default=list, blank=True)
    # {use case id: {"healthy": accounts, "at_risk": accounts}}: which use cases each band runs.
    use_cases = models.JSONField(default=dict, blank=True)
    # {primary use case id: {journey stage id or "none": accounts}} of the vertical's active accounts
    # with metrics that day: the journey funnels, without a pass over the day's AccountMetrics.
    journey_stages = models.JSONField(default=dict, blank=True)
    # The vertical's accounts stuck in a journey stage (dashboards.journeys.stuck_metrics, STUCK_DAYS):
    # {"compared_on": date or null, "accounts": n, "arr": "…", "top": [the STUCK_LIMIT largest account ids]}.
    stuck = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["vertical", "day"]
        constraints = [models.UniqueConstraint(fields=["vertical", "day"], name="uniq_vertical_day")]
        indexes = [models.Index(fields=["day"], name="vertical_day_day_idx")]

    def __str__(self) -> str:
        return f"{self.vertical_id} {self.day}: {self.accounts} accounts, median {self.median_score}"


class RevenueDay(models.Model):
    """The revenue page's ARR-history figures as of one day (ARR trend, NRR/GRR, Pareto curve),
    written with the day's results: each is a pass over all ARR history, too slow per request at
    100,000 accounts. The JSON columns' schema is dashboards/rollups.py (RevenueTrend, Retention,
    ParetoPoint); a day without a row shows an empty state, never a live computation."""

    day = models.DateField(unique=True)
    trend = models.JSONField(default=dict)
    retention = models.JSONField(default=dict)
    pareto = models.JSONField(default=list)
    written_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"revenue figures of {self.day}"
