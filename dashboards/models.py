"""Daily rollups the dashboards read instead of scanning a year of HealthScore rows per request."""

from django.db import models

from accounts.models import Vertical


class VerticalDay(models.Model):
    """One vertical on one day: accounts scored that day (churned left out), their ARR, the health
    mix, the ARR in the at-risk band and the median score.

    Written by the recompute's publish step (replaced on a re-run of the same date) and by
    `backfill_vertical_days` from existing HealthScore history. ARR is the accounts' ARR when the
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

    class Meta:
        ordering = ["vertical", "day"]
        constraints = [models.UniqueConstraint(fields=["vertical", "day"], name="uniq_vertical_day")]
        indexes = [models.Index(fields=["day"], name="vertical_day_day_idx")]

    def __str__(self) -> str:
        return f"{self.vertical_id} {self.day}: {self.accounts} accounts, median {self.median_score}"
