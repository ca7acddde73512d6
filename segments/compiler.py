"""Segment rules (SPEC §6) compiled to Django Q objects over accounts, as of a date.

Every condition becomes a definite true/false: a condition on a value the account lacks is
false (except is_null), so `{"not": R}` — compiled as `~Q` — is exactly the complement of R.
Values that live in the day's results (metrics, score, band, tier, journey stage) are matched
through `pk__in` subqueries on those tables, which keeps negation exact as well. Rules never
become raw SQL.
"""

import math
from datetime import date, timedelta

from django.db.models import Q

from accounts.models import AccountUseCase
from core.db import IdRange, id_range_q, ids_in
from health.metrics_catalog import METRICS
from health.models import AccountMetrics, HealthScore
from segments.rules import FIELDS, check_rule

# Fields on the account row (or reached through a single-valued relation).
ACCOUNT_FIELDS = {
    "vertical": "vertical__name",
    "primary_use_case": "primary_use_case__name",
    "arr": "arr",
    "seats": "seats",
    "employees": "employees",
    "persona": "persona",
    "owner": "owner__email",
}
BLANK_IS_NULL = {"persona", "owner"}  # stored as '' when absent


class _Only:
    """The accounts a compiled rule's subqueries are restricted to: all, a list of ids, an id range."""

    def __init__(self, accounts: list[int] | None = None, id_range: IdRange | None = None):
        self.accounts, self.id_range = accounts, id_range

    def __call__(self, rows):
        if self.accounts is not None:
            rows = rows.filter(account_id__in=ids_in(self.accounts))
        return rows.filter(id_range_q("account_id", self.id_range))


def compile_rule(rule: dict, as_of: date, *, accounts: list[int] | None = None, id_range: IdRange | None = None) -> Q:
    """A validated-on-the-way Q for the rule; raises segments.rules.RuleError when invalid.

    With `accounts` (ids: the incremental run's) the subqueries read only those accounts' rows, so
    each is a few index probes rather than a pass over the day; with `id_range` ((first, last)
    account ids, either None: no bound — a chunk of the recompute's publish) they read that
    range of the day's rows only. The Q is then exact for those accounts only, and the caller
    restricts the outer query to them as well."""
    check_rule(rule)
    return _compile(rule, as_of, _Only(accounts, id_range))


def _compile(rule: dict, as_of: date, only: _Only) -> Q:
    if "all" in rule:
        q = Q()
        for child in rule["all"]:
            q &= _compile(child, as_of, only)
        return q
    if "any" in rule:
        q = Q(pk__in=[])
        for child in rule["any"]:
            q |= _compile(child, as_of, only)
        return q
    if "not" in rule:
        return ~_compile(rule["not"], as_of, only)
    return _condition(rule["field"], rule["op"], rule.get("value"), as_of, only)


def _text_match(path: str, values: list[str]) -> Q:
    q = Q(pk__in=[])
    for value in values:
        q |= Q(**{f"{path}__iexact": value})
    return q


def _value_q(path: str, kind: str, op: str, value) -> Q:
    """The condition on a column that has a value (the caller adds 'is not null')."""
    if kind in ("text", "choice"):
        values = value if op in ("in", "not_in") else [value]
        match = _text_match(path, values)
        return match if op in ("eq", "in") else ~match
    if op == "eq":
        return Q(**{path: value})
    if op == "ne":
        return ~Q(**{path: value})
    if op == "in":
        return Q(**{f"{path}__in": value})
    if op == "not_in":
        return ~Q(**{f"{path}__in": value})
    if op == "between":
        return Q(**{f"{path}__gte": value[0], f"{path}__lte": value[1]})
    return Q(**{f"{path}__{op}": value})


def _present(path: str, blank_is_null: bool) -> Q:
    q = Q(**{f"{path}__isnull": False})
    if blank_is_null:
        q &= ~Q(**{path: ""})
    return q


def _condition(field: str, op: str, value, as_of: date, only: _Only) -> Q:
    spec = FIELDS[field]
    if field == "use_case":
        return _use_case(op, value, only)
    if field == "days_to_renewal":
        return _days_to_renewal(op, value, as_of)
    if field == "health_band":
        return _health_band(op, value, as_of, only)
    if field in ACCOUNT_FIELDS:
        path = ACCOUNT_FIELDS[field]
        present = _present(path, field in BLANK_IS_NULL)
    else:
        table, path = _daily_source(field, as_of)
        table = only(table)
        present = Q(pk__in=table.filter(**{f"{path}__isnull": False}).values("account_id"))
        if op in ("is_null", "not_null"):
            return present if op == "not_null" else ~present
        matches = table.filter(**{f"{path}__isnull": False}).filter(_value_q(path, spec.kind, op, value))
        return Q(pk__in=matches.values("account_id"))
    if op == "is_null":
        return ~present
    if op == "not_null":
        return present
    return present & _value_q(path, spec.kind, op, value)


def _daily_source(field: str, as_of: date):
    """(queryset of the day's rows, column path) for values the recompute writes."""
    if field in METRICS:
        return AccountMetrics.objects.filter(as_of=as_of), field
    if field == "journey_stage":
        return AccountMetrics.objects.filter(as_of=as_of), "journey_stage__name"
    if field == "health_score":
        return HealthScore.objects.filter(as_of=as_of), "score"
    if field == "tier":
        return HealthScore.objects.filter(as_of=as_of), "tier__name"
    raise KeyError(field)


def _health_band(op: str, value, as_of: date, only: _Only) -> Q:
    # Every account has a band: 'unknown' when the day has no result for it.
    values = [v.lower() for v in (value if op in ("in", "not_in") else [value])] if value is not None else []
    if op == "is_null":
        return Q(pk__in=[])
    if op == "not_null":
        return Q()
    day = only(HealthScore.objects.filter(as_of=as_of))
    match = Q(pk__in=day.filter(band__in=values).values("account_id"))
    if "unknown" in values:
        match |= ~Q(pk__in=day.values("account_id"))
    return match if op in ("eq", "in") else ~match


def _use_case(op: str, value, only: _Only) -> Q:
    """use_case is a set: eq/in "runs any of", ne/not_in "runs none of" (and runs at least one)."""
    runs_any = Q(pk__in=only(AccountUseCase.objects).values("account_id"))
    if op == "is_null":
        return ~runs_any
    if op == "not_null":
        return runs_any
    values = value if op in ("in", "not_in") else [value]
    having = only(AccountUseCase.objects).filter(_text_match("use_case__name", values))
    match = Q(pk__in=having.values("account_id"))
    return match if op in ("eq", "in") else runs_any & ~match


def _days_to_renewal(op: str, value, as_of: date) -> Q:
    """days_to_renewal = renewal_date − D, compared as dates so no date arithmetic reaches SQL."""
    present = Q(renewal_date__isnull=False)
    if op == "is_null":
        return ~present
    if op == "not_null":
        return present

    def day(n: int) -> date:
        return as_of + timedelta(days=n)

    def whole(values) -> list[int]:
        return [int(v) for v in values if float(v).is_integer()]

    if op in ("eq", "in"):
        return present & Q(renewal_date__in=[day(n) for n in whole(value if op == "in" else [value])])
    if op in ("ne", "not_in"):
        return present & ~Q(renewal_date__in=[day(n) for n in whole(value if op == "not_in" else [value])])
    if op == "gt":
        return present & Q(renewal_date__gte=day(math.floor(value) + 1))
    if op == "gte":
        return present & Q(renewal_date__gte=day(math.ceil(value)))
    if op == "lt":
        return present & Q(renewal_date__lte=day(math.ceil(value) - 1))
    if op == "lte":
        return present & Q(renewal_date__lte=day(math.floor(value)))
    low, high = value
    return present & Q(renewal_date__gte=day(math.ceil(low)), renewal_date__lte=day(math.floor(high)))
