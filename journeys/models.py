"""Journeys (SPEC §7): per vertical and use case, ordered stages reached through feature usage."""

from django.db import models

from accounts.models import Feature, UseCase, Vertical


class Journey(models.Model):
    """The ordered stages an account of a vertical and primary use case goes through."""

    vertical = models.ForeignKey(Vertical, on_delete=models.CASCADE, related_name="journeys")
    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="journeys")

    class Meta:
        ordering = ["vertical__name", "use_case__name"]
        constraints = [models.UniqueConstraint(fields=["vertical", "use_case"], name="uniq_journey_scope")]

    def __str__(self) -> str:
        return f"{self.vertical} · {self.use_case}"


class Stage(models.Model):
    """A stage is reached when every listed feature has ≥ `min_events_90d` events in 90 days."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=120)
    position = models.PositiveSmallIntegerField(default=0)
    features = models.ManyToManyField(Feature, related_name="stages")
    min_events_90d = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["journey", "position", "id"]

    def __str__(self) -> str:
        return f"{self.journey}: {self.name}"
