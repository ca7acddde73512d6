"""Writes of the health app: the results of a chunk of accounts, and a day's results published.

`compute_rows` is the engine step of the recompute for one chunk: metrics (§5.1), journey
position and score (§5.2). It yields one plain row per account (STAGED_COLUMNS) for the pipeline
to stage. `health_day_publish` turns staged rows into the day's AccountMetrics and HealthScore
with two INSERT … SELECT statements, each row written once. The order of the whole publish
(health, segments, dashboards) is the pipeline's business, not this module's.
"""

from collections.abc import Iterator
from datetime import date, datetime, timedelta

from django.db import IntegrityError, connection
from django.db.models import Case, ExpressionWrapper, IntegerField, OuterRef, Q, Subquery, When
from django.utils import timezone

from accounts.models import Account, Tier
from core.db import IdRange, in_id_range, key_share_every_row
from health.engine.metrics import compute_facts
from health.engine.scoring import Scorer, load_scorecards, tier_for
from health.models import SLIPPING_DAYS, SLIPPING_POINTS, AccountMetrics, Band, HealthScore, Scorecard
from journeys.engine import journey_features, journey_position, load_journeys
from journeys.models import Stage

METRIC_COLUMNS = (
    "active_days_30d",
    "active_days_90d",
    "active_days_365d",
    "active_months_365d",
    "events_30d",
    "active_users_30d",
    "seat_utilization_30d",
    "features_used_90d",
    "days_since_last_activity",
    "nps_latest",
    "journey_progress",
)
# One computed row: account id, the metric columns, journey stage id, score, band, scorecard id,
# measures (the explanation list), tier id. The staging table has these columns (and a run id).
STAGED_COLUMNS = (
    "account_id",
    *METRIC_COLUMNS,
    "journey_stage_id",
    "score",
    "band",
    "scorecard_id",
    "measures",
    "tier_id",
)
_FLOAT_METRICS = ("seat_utilization_30d", "journey_progress")


class ComputeRules:
    """What a chunk needs besides usage: journeys, scorecards and tiers, loaded once per process step.

    `alone`: no other chunk computes meanwhile (the command with RECOMPUTE_JOBS=1), so a chunk's
    grouped query may use PostgreSQL's parallel workers (health.engine.metrics)."""

    def __init__(self, *, alone: bool = False):
        self.alone = alone
        self.journeys = load_journeys()
        self.features = journey_features(self.journeys)
        self.scorer = Scorer(load_scorecards())
        self.tiers = [(t.min_arr, t.pk) for t in Tier.objects.order_by("-min_arr")]


def compute_rows(
    *, as_of: date, first_id: int, last_id: int, rules: ComputeRules | None = None, account_ids: list[int] | None = None
) -> Iterator[tuple]:
    """The results (STAGED_COLUMNS) of the accounts with id in [first_id, last_id] as of `as_of`
    (only those of `account_ids` when given: the incremental run's dirty accounts).

    A generator: the caller streams the rows to staging; nothing here outlives the chunk.
    """
    rules = rules or ComputeRules()
    score = rules.scorer.score
    for facts in compute_facts(as_of, first_id, last_id, rules.features, account_ids, parallel_query=rules.alone):
        metrics = facts.metrics
        stages = rules.journeys.get((facts.vertical_id, facts.primary_use_case_id))
        stage_id = None
        if stages is None:
            metrics["journey_progress"] = None
        else:
            stage, progress = journey_position(stages, facts.feature_events_90d)
            metrics["journey_progress"] = progress
            stage_id = stage.stage_id if stage else None
        if facts.churned_on is not None and facts.churned_on <= as_of:
            # Churned: no score, band churned (and, in segments, no membership or touch model).
            result = (None, Band.CHURNED.value, None, [])
        elif facts.start_date is not None and facts.start_date > as_of:
            # Not a customer yet (SPEC §5.2): history recomputed for past dates scores nobody early.
            result = (None, Band.NOT_STARTED.value, None, [])
        else:
            result = score(metrics, facts.vertical_id, facts.primary_use_case_id)
        for key in _FLOAT_METRICS:
            if metrics.get(key) is not None:
                metrics[key] = float(metrics[key])
        yield (
            facts.account_id,
            *(metrics.get(k) for k in METRIC_COLUMNS),
            stage_id,
            *result,
            tier_for(facts.arr, rules.tiers),  # the tier follows ARR alone (SPEC §6), churned or not
        )


def health_day_publish(
    *,
    day: date,
    staged_table: str,
    run_id: int,
    inputs_through: datetime | None = None,
    accounts_only: bool = False,
    account_ids: list[int] | None = None,
) -> dict:
    """Replaces `day`'s AccountMetrics and HealthScore with the staged rows of run `run_id`.

    With `accounts_only` (the incremental run of today) only the staged accounts' rows of `day`
    are replaced; every other row is left as it is (not rewritten); `account_ids`, the staged
    accounts' ids, let PostgreSQL probe their rows by index (against the unanalysed staging table
    it may read the whole day instead). Each HealthScore row records
    when it was computed (`computed_at`, now) and `inputs_through`: the run read every write
    received up to then.

    `staged_table` has STAGED_COLUMNS and `run_id`. Each HealthScore row is written once, with the
    score SLIPPING_DAYS before and `slipping` joined in at insert time. A day published after this
    one (a re-run of a past date) compares with it: that day's rows are refreshed too (one UPDATE,
    nothing when there is no such day). Returns {"bands": {band: n}, "scored": n}.
    """
    only, only_params = "", []
    if accounts_only and account_ids is not None and connection.vendor == "postgresql":
        only, only_params = " AND account_id IN (SELECT unnest(%s::bigint[]))", [list(account_ids)]
    elif accounts_only:
        only, only_params = f" AND account_id IN (SELECT account_id FROM {staged_table} WHERE run_id = %s)", [run_id]
    with connection.cursor() as cursor:
        results_references_lock(cursor, staged_table=staged_table, run_id=run_id, all_accounts=not accounts_only)
        _day_delete(cursor, day, only, only_params)
        _rows_insert(cursor, day, staged_table, run_id, timezone.now(), inputs_through, None)
    return health_day_finish(day=day, staged_table=staged_table, run_id=run_id, later_days=not accounts_only)


def health_day_begin(*, day: date) -> None:
    """The recompute's publish in steps, inside its transaction: locks every account, scorecard,
    tier and journey stage FOR KEY SHARE (see results_references_lock) and deletes `day`'s
    AccountMetrics and HealthScore; then health_range_publish writes each chunk's rows as the
    chunk is staged, and health_day_finish ends the day. The same rows as health_day_publish."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for _column, model in _STAGED_REFERENCES:  # every row: the scorecards, tiers and stages are few
                key_share_every_row(model._meta.db_table)
        _day_delete(cursor, day, "", [])


def health_range_publish(
    *,
    day: date,
    staged_table: str,
    run_id: int,
    id_range: IdRange,
    computed_at: datetime,
    inputs_through: datetime | None = None,
) -> None:
    """Writes the day's AccountMetrics and HealthScore of run `run_id`'s staged rows with account
    ids in `id_range` ((first, last), either None: no bound), after checking that what they refer
    to still exists (results_references_lock; health_day_begin locked it)."""
    with connection.cursor() as cursor:
        results_references_lock(
            cursor,
            staged_table=staged_table,
            run_id=run_id,
            all_accounts=False,
            id_range=id_range,
            locked=True,
        )
        _rows_insert(cursor, day, staged_table, run_id, computed_at, inputs_through, id_range)


def health_day_finish(*, day: date, staged_table: str, run_id: int, later_days: bool = True) -> dict:
    """After the rows of `day` are written: with `later_days` (not an incremental run, which is
    today's) refreshes the slipping of the day SLIPPING_DAYS later; returns the run's
    {"bands": {band: n}, "scored": n}."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT band, COUNT(*), COUNT(score) FROM {staged_table} WHERE run_id = %s GROUP BY band", [run_id]
        )
        counts = cursor.fetchall()
    if later_days:
        health_scores_mark_slipping(day=day + timedelta(days=SLIPPING_DAYS))
    return {"bands": {band: n for band, n, _ in counts}, "scored": sum(scored for _, _, scored in counts)}


def _day_delete(cursor, day: date, only: str, only_params: list) -> None:
    for model in (AccountMetrics, HealthScore):
        cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE as_of = %s{only}", [day, *only_params])


def _rows_insert(cursor, day, staged_table, run_id, computed_at, inputs_through, id_range) -> None:
    """INSERT … SELECT of the staged rows (those with account ids in `id_range`, if given) into
    AccountMetrics and HealthScore of `day`, the score SLIPPING_DAYS before joined in."""
    metrics, health = AccountMetrics._meta.db_table, HealthScore._meta.db_table
    columns = ", ".join(METRIC_COLUMNS)
    in_range, range_params = in_id_range("s.account_id", id_range)
    cursor.execute(
        f"""INSERT INTO {metrics} (account_id, as_of, {columns}, journey_stage_id)
            SELECT account_id, %s, {columns}, journey_stage_id FROM {staged_table} s
            WHERE s.run_id = %s{in_range}""",
        [day, run_id, *range_params],
    )
    cursor.execute(
        f"""INSERT INTO {health} (account_id, as_of, score, band, scorecard_id, measures, tier_id,
                                  score_30d_ago, slipping, computed_at, inputs_through)
            SELECT s.account_id, %s, s.score, s.band, s.scorecard_id, s.measures, s.tier_id, p.score,
                   CASE WHEN s.score IS NOT NULL AND p.score IS NOT NULL AND s.score <= p.score - %s
                        THEN TRUE ELSE FALSE END, %s, %s
            FROM {staged_table} s
            LEFT JOIN {health} p ON p.account_id = s.account_id AND p.as_of = %s
            WHERE s.run_id = %s{in_range}""",
        [
            day,
            SLIPPING_POINTS,
            computed_at,
            inputs_through,
            day - timedelta(days=SLIPPING_DAYS),
            run_id,
            *range_params,
        ],
    )


# (column of the staged rows, the table it refers to): what the results tables' foreign keys name.
_STAGED_REFERENCES = (
    ("account_id", Account),
    ("scorecard_id", Scorecard),
    ("tier_id", Tier),
    ("journey_stage_id", Stage),
)


def _missing(column: str, table: str) -> str:
    """SQL true for a staged row `s` whose `column` names no row of `table`."""
    if column == "account_id":
        return f"NOT EXISTS (SELECT 1 FROM {table} r WHERE r.id = s.{column})"
    return f"s.{column} NOT IN (SELECT id FROM {table})"


def results_references_lock(
    cursor,
    *,
    staged_table: str,
    run_id: int,
    all_accounts: bool,
    id_range: IdRange | None = None,
    locked: bool = False,
) -> None:
    """What the results tables' per-row foreign-key checks did, once per publish and set-based
    (health.models.RESULTS_FK): every account, scorecard, tier and journey stage the run's staged
    rows name still exists, and is locked FOR KEY SHARE (a concurrent delete waits until the day
    is committed), so no result row can name a row that is gone.

    With `all_accounts` (a full run) every account is locked: the segments step that follows
    takes its members from all accounts, not only the staged ones. Raises IntegrityError, naming
    the column and how many ids are missing, when something was deleted while the run computed
    (the run fails and publishes nothing, as the commit-time check made it do). With `id_range`
    only the staged rows of those accounts are checked (a range of the publish); `locked`: every
    row they can name is locked already (health_day_begin), only their existence is checked.
    """
    in_range, range_params = in_id_range("account_id", id_range)
    staged, staged_params = f"run_id = %s{in_range}", [run_id, *range_params]
    # SQLite: one writer at a time, the database itself is the lock.
    if connection.vendor == "postgresql" and not locked:
        for column, model in _STAGED_REFERENCES:
            table = model._meta.db_table
            if column == "account_id" and all_accounts:
                key_share_every_row(table)
            else:
                cursor.execute(
                    f"""SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE id IN (
                            SELECT {column} FROM {staged_table} WHERE {staged}) FOR KEY SHARE) t""",
                    staged_params,
                )
    # One pass over the staged rows for every column: an index probe per row for the account; the
    # scorecards, tiers and stages are few, read once into a hash per statement (NOT IN: a NULL
    # reference is not a missing one). Half the time of a probe per row and column.
    missing_counts = ", ".join(
        f"COUNT(DISTINCT s.{column}) FILTER (WHERE {_missing(column, model._meta.db_table)})"
        for column, model in _STAGED_REFERENCES
    )
    cursor.execute(f"SELECT {missing_counts} FROM {staged_table} s WHERE s.{staged}", staged_params)
    for (column, model), missing in zip(_STAGED_REFERENCES, cursor.fetchone(), strict=True):
        if missing:
            raise IntegrityError(
                f"{column}: {missing} id(s) of the run's results no longer exist in {model._meta.db_table}"
                " (deleted while the run computed); nothing was published"
            )


def health_scores_mark_slipping(*, day: date) -> int:
    """Fills `score_30d_ago` and `slipping` on the HealthScore rows of `day` (one set-based UPDATE;
    idempotent): the score SLIPPING_DAYS before, and whether the score fell by SLIPPING_POINTS or
    more since (False when either score is missing). Returns the rows updated."""
    then = Subquery(
        HealthScore.objects.filter(account_id=OuterRef("account_id"), as_of=day - timedelta(days=SLIPPING_DAYS)).values(
            "score"
        )[:1]
    )
    threshold = ExpressionWrapper(then - SLIPPING_POINTS, output_field=IntegerField())
    fell = When(Q(score__isnull=False) & Q(score__lte=threshold), then=True)
    return HealthScore.objects.filter(as_of=day).update(score_30d_ago=then, slipping=Case(fell, default=False))
