"""Customer accounts and what we know about them: vertical, use cases, usage, NPS, ARR, drivers.

`Account` here is a customer company; the team's logins are `people.User`.
"""

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.utils.text import slugify


class NamedSlugModel(models.Model):
    """A name that is also a stable URL slug (verticals and use cases)."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=140, unique=True, editable=False)
    description = models.TextField(blank=True)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            # The importer's rule: a name whose slug is taken gets -2, -3… (validation refuses such
            # names in documents and over the API; this keeps any other path from an IntegrityError).
            base = slug = slugify(self.name)[:130] or "x"
            n = 2
            while type(self)._base_manager.filter(slug=slug).exists():
                slug, n = f"{base}-{n}", n + 1
            self.slug = slug
        super().save(*args, **kwargs)


class Vertical(NamedSlugModel):
    """An industry (Education, Tech Sales…): it decides what "healthy" means for its accounts."""


class UseCase(NamedSlugModel):
    """What a customer is trying to get done (PTA meetings, pipeline reviews…); it decides the journey."""


class Feature(models.Model):
    """A product feature that usage is reported against, identified by a stable key."""

    key = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name or self.key


class Tier(models.Model):
    """An ARR tier: an account is in the tier with the highest `min_arr` not above its ARR."""

    name = models.CharField(max_length=80, unique=True)
    min_arr = models.DecimalField(max_digits=14, decimal_places=2, unique=True)

    class Meta:
        ordering = ["-min_arr"]

    def __str__(self) -> str:
        return self.name


class Persona(models.TextChoices):
    EXECUTIVE = "executive", "Executive"
    MANAGER = "manager", "Manager"
    INDIVIDUAL_CONTRIBUTOR = "individual_contributor", "Individual contributor"


class AccountQuerySet(models.QuerySet):
    def active_on(self, day):
        """Customers as of `day` (SPEC §5.2): not churned (churned_on empty or after it) and started
        (start_date empty or on or before it)."""
        return self.filter(
            models.Q(churned_on__isnull=True) | models.Q(churned_on__gt=day),
            models.Q(start_date__isnull=True) | models.Q(start_date__lte=day),
        )

    def in_book_of(self, user):
        """The accounts `user` owns as their CSM: the one place a CSM's book is scoped."""
        return self.filter(owner=user)

    def for_list(self):
        return self.select_related("vertical", "primary_use_case", "owner")


class Account(models.Model):
    """A customer company: the unit that is scored, segmented and renewed."""

    external_id = models.CharField(max_length=120, unique=True)
    name = models.CharField(max_length=255, db_index=True)
    vertical = models.ForeignKey(Vertical, on_delete=models.PROTECT, related_name="accounts")
    primary_use_case = models.ForeignKey(
        UseCase, on_delete=models.PROTECT, null=True, blank=True, related_name="primary_accounts"
    )
    use_cases = models.ManyToManyField(UseCase, through="AccountUseCase", related_name="accounts", blank=True)
    arr = models.DecimalField("ARR", max_digits=14, decimal_places=2, default=0)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_accounts",
    )
    employees = models.PositiveIntegerField(null=True, blank=True)
    persona = models.CharField(max_length=32, choices=Persona.choices, blank=True)
    seats = models.PositiveIntegerField(null=True, blank=True)
    start_date = models.DateField(null=True, blank=True)
    renewal_date = models.DateField(null=True, blank=True)
    churned_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["vertical", "arr"]),
            # Active accounts by ARR, largest first, from the index alone (revenue concentration).
            models.Index(fields=["arr"], include=["churned_on"], name="account_arr_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def is_churned(self, day) -> bool:
        return self.churned_on is not None and self.churned_on <= day


class AccountUseCase(models.Model):
    """An account runs a use case; the account's primary use case is one of these."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE)
    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "use_case"], name="uniq_account_use_case")]

    def __str__(self) -> str:
        return f"{self.account} · {self.use_case}"


class UsageDaily(models.Model):
    """Product telemetry: one row per account, day and feature (the import replaces on re-import).

    The natural key (account, date, feature) is the primary key and the table's only b-tree: no
    surrogate id (8 bytes a row and a second index to keep up on every import of millions of
    rows). It doubles as the index for windowed aggregation (`WHERE account_id = … AND date
    BETWEEN …`); a BRIN index on date (tiny, cheap to keep up while importing) serves
    all-accounts windows such as the last 30 days. Django 5.2's admin cannot register a model
    with a composite key: the admin lists usage through a read-only view (accounts.admin_usage).
    """

    pk = models.CompositePrimaryKey("account", "date", "feature")
    # Telemetry volume: no separate FK indexes (the primary key leads with account_id, and
    # deleting a feature is rare) and no database FK constraints — their per-row trigger checks
    # doubled the cost of the bulk upsert. The imports only ever write ids they have just
    # resolved, and the ORM still cascades (account) and protects (feature) on delete.
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="usage", db_index=False, db_constraint=False
    )
    date = models.DateField()
    feature = models.ForeignKey(
        Feature, on_delete=models.PROTECT, related_name="usage", db_index=False, db_constraint=False
    )
    events = models.PositiveIntegerField(default=0)
    active_users = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "daily usage"
        verbose_name_plural = "daily usage"
        indexes = [BrinIndex(fields=["date"], name="usage_date_brin")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.date} {self.feature_id}: {self.events}"


class NpsResponse(models.Model):
    """A Net Promoter Score answer (0–10). One per account and day: re-imports replace it."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="nps_responses")
    date = models.DateField()
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)

    class Meta:
        verbose_name = "NPS response"
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(fields=["account", "date"], name="uniq_nps_account_date"),
            models.CheckConstraint(condition=models.Q(score__lte=10), name="nps_score_0_10"),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.date}: {self.score}"


class ArrChange(models.Model):
    """ARR history: the account's ARR from `date` on (written by imports when ARR changes)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="arr_history")
    date = models.DateField()
    arr = models.DecimalField("ARR", max_digits=14, decimal_places=2)
    previous_arr = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = "ARR change"
        ordering = ["account", "date"]
        constraints = [models.UniqueConstraint(fields=["account", "date"], name="uniq_arr_account_date")]

    def __str__(self) -> str:
        return f"{self.account} {self.date}: {self.arr}"


class StatedDriver(models.Model):
    """What the customer says gets them results ("say"), checked against usage ("do")."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="stated_drivers")
    feature = models.ForeignKey(Feature, on_delete=models.PROTECT, related_name="stated_drivers")
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-recorded_at"]

    def __str__(self) -> str:
        return f"{self.account}: {self.feature}"


class ImportJob(models.Model):
    """A CSV uploaded in the admin, imported by a Celery task (accounts.tasks.import_job_task).

    The upload is kept in the default storage (MEDIA_ROOT, shared by web and workers) until the task
    has read it; the page polls the job (progress in the cache while running, the result here)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=20)
    file = models.FileField(upload_to="imports/%Y/%m/", blank=True)
    filename = models.CharField(max_length=255)
    size = models.BigIntegerField(default=0)
    skip_invalid = models.BooleanField(default=False)
    as_of = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    result = models.JSONField(null=True, blank=True)
    failure = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} import of {self.filename} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class DirtyAccount(models.Model):
    """An account whose inputs (usage, NPS, its own fields, stated drivers) changed after today's
    results were computed: the incremental run (pipeline.freshness) re-scores it and deletes the
    mark. One row per account however often it is touched; `marked_at` is the oldest change not
    yet taken by a run (what /healthz reports the age of).

    `claimed_by` is the pipeline's RecomputeRun that took the mark (an id, not a foreign key: the
    pipeline sits above accounts). A mark touched again after being claimed is released (NULL),
    so the run that claimed it, which may have read the older data, does not delete it.
    """

    account = models.OneToOneField(Account, on_delete=models.CASCADE, primary_key=True, related_name="+")
    marked_at = models.DateTimeField()
    reason = models.CharField(max_length=20)
    claimed_by = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["marked_at"]

    def __str__(self) -> str:
        return f"{self.account_id} dirty since {self.marked_at} ({self.reason})"
