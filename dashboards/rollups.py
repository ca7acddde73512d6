"""The schema of the rollups' JSON columns: one dataclass per stored figure, with `to_json` (what
the writer stores) and `from_json` (what a reader gets back). Readers never look inside the JSON
themselves, so the stored shape is written down once, here.

The JSON shapes are those the rollups have always stored (an upgraded database reads its old rows
as they are); money travels as decimal strings and dates as ISO strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


# --- VerticalDay ------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistogramBin:
    """Accounts of a vertical with one score in one band on the day (VerticalDay.histogram: [score, band, n])."""

    score: int
    band: str
    accounts: int

    def to_json(self) -> list:
        return [self.score, self.band, self.accounts]

    @classmethod
    def from_json(cls, data: list) -> HistogramBin:
        score, band, accounts = data
        return cls(score=score, band=band, accounts=accounts)


@dataclass(frozen=True)
class UseCaseCounts:
    """One use case in one vertical on the day: the healthy and the at-risk accounts running it, and
    every scored account running it (whatever its band) with their ARR."""

    healthy: int = 0
    at_risk: int = 0
    accounts: int = 0
    arr: Decimal = Decimal(0)

    def to_json(self) -> dict:
        return {"healthy": self.healthy, "at_risk": self.at_risk, "accounts": self.accounts, "arr": str(self.arr)}

    @classmethod
    def from_json(cls, data: dict) -> UseCaseCounts:
        return cls(
            healthy=data["healthy"], at_risk=data["at_risk"], accounts=data["accounts"], arr=Decimal(data["arr"])
        )


@dataclass(frozen=True)
class VerticalUseCaseCounts:
    """VerticalDay.use_cases: {use case id: UseCaseCounts} (stored with string keys)."""

    by_use_case: dict[int, UseCaseCounts] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {str(pk): counts.to_json() for pk, counts in self.by_use_case.items()}

    @classmethod
    def from_json(cls, data: dict) -> VerticalUseCaseCounts:
        return cls({int(pk): UseCaseCounts.from_json(counts) for pk, counts in data.items()})


@dataclass(frozen=True)
class JourneyStageCounts:
    """VerticalDay.journey_stages: {primary use case id: {journey stage id or None: active accounts}}
    (stored with string keys, "none" for accounts in no stage)."""

    by_use_case: dict[int, dict[int | None, int]] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            str(use_case): {"none" if stage is None else str(stage): n for stage, n in stages.items()}
            for use_case, stages in self.by_use_case.items()
        }

    @classmethod
    def from_json(cls, data: dict) -> JourneyStageCounts:
        return cls(
            {
                int(use_case): {None if stage == "none" else int(stage): n for stage, n in stages.items()}
                for use_case, stages in data.items()
            }
        )


@dataclass(frozen=True)
class StuckSummary:
    """VerticalDay.stuck: the vertical's accounts stuck in a journey stage (dashboards.journeys.
    stuck_metrics): how many, their ARR, the comparison day and the STUCK_LIMIT largest by ARR."""

    compared_on: date | None
    accounts: int
    arr: Decimal
    top: list[int]

    def to_json(self) -> dict:
        return {"compared_on": _iso(self.compared_on), "accounts": self.accounts, "arr": str(self.arr), "top": self.top}

    @classmethod
    def from_json(cls, data: dict) -> StuckSummary:
        return cls(
            compared_on=_date(data["compared_on"]), accounts=data["accounts"], arr=Decimal(data["arr"]), top=data["top"]
        )


# --- RevenueDay -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendSeries:
    """One vertical's ARR at each date of the trend."""

    vertical: str
    slug: str
    arr: list[Decimal]

    def to_json(self) -> dict:
        return {"vertical": self.vertical, "slug": self.slug, "arr": [str(v) for v in self.arr]}

    @classmethod
    def from_json(cls, data: dict) -> TrendSeries:
        return cls(vertical=data["vertical"], slug=data["slug"], arr=[Decimal(v) for v in data["arr"]])


@dataclass(frozen=True)
class RevenueTrend:
    """RevenueDay.trend: ARR per vertical at each month end (dashboards.selectors.arr_trend)."""

    dates: list[date]
    verticals: list[TrendSeries]

    def to_json(self) -> dict:
        return {"dates": [d.isoformat() for d in self.dates], "verticals": [s.to_json() for s in self.verticals]}

    @classmethod
    def from_json(cls, data: dict) -> RevenueTrend:
        return cls(
            dates=[date.fromisoformat(d) for d in data["dates"]],
            verticals=[TrendSeries.from_json(s) for s in data["verticals"]],
        )


@dataclass(frozen=True)
class RetentionFigures:
    """A cohort's retention: accounts, ARR then, now and kept (capped at then), NRR and GRR in %
    (None without a cohort)."""

    accounts: int
    arr_then: Decimal
    arr_now: Decimal
    arr_kept: Decimal
    nrr: float | None
    grr: float | None

    def to_json(self) -> dict:
        return {
            "accounts": self.accounts,
            "arr_then": str(self.arr_then),
            "arr_now": str(self.arr_now),
            "arr_kept": str(self.arr_kept),
            "nrr": self.nrr,
            "grr": self.grr,
        }

    @classmethod
    def _fields(cls, data: dict) -> dict:
        return {
            "accounts": data["accounts"],
            "arr_then": Decimal(data["arr_then"]),
            "arr_now": Decimal(data["arr_now"]),
            "arr_kept": Decimal(data["arr_kept"]),
            "nrr": data["nrr"],
            "grr": data["grr"],
        }

    @classmethod
    def from_json(cls, data: dict) -> RetentionFigures:
        return cls(**cls._fields(data))


@dataclass(frozen=True)
class VerticalRetention(RetentionFigures):
    """One vertical's cohort (stored flat: {"vertical", **figures})."""

    vertical: str = ""

    def to_json(self) -> dict:
        return {"vertical": self.vertical, **super().to_json()}

    @classmethod
    def from_json(cls, data: dict) -> VerticalRetention:
        return cls(vertical=data["vertical"], **cls._fields(data))


@dataclass(frozen=True)
class Retention:
    """RevenueDay.retention: NRR/GRR per vertical and for all over the year `start` → `end`
    (dashboards.selectors.retention)."""

    start: date
    end: date
    verticals: list[VerticalRetention]
    total: RetentionFigures

    def to_json(self) -> dict:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "verticals": [v.to_json() for v in self.verticals],
            "total": self.total.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict) -> Retention:
        return cls(
            start=date.fromisoformat(data["start"]),
            end=date.fromisoformat(data["end"]),
            verticals=[VerticalRetention.from_json(v) for v in data["verticals"]],
            total=RetentionFigures.from_json(data["total"]),
        )


@dataclass(frozen=True)
class ParetoPoint:
    """One point of the concentration curve (RevenueDay.pareto is a list of them): the top
    `accounts` accounts by ARR hold `share_of_arr`% of active ARR."""

    accounts: int
    share_of_accounts: float
    cumulative_arr: Decimal
    share_of_arr: float

    def to_json(self) -> dict:
        return {
            "accounts": self.accounts,
            "share_of_accounts": self.share_of_accounts,
            "cumulative_arr": str(self.cumulative_arr),
            "share_of_arr": self.share_of_arr,
        }

    @classmethod
    def from_json(cls, data: dict) -> ParetoPoint:
        return cls(
            accounts=data["accounts"],
            share_of_accounts=data["share_of_accounts"],
            cumulative_arr=Decimal(data["cumulative_arr"]),
            share_of_arr=data["share_of_arr"],
        )


@dataclass(frozen=True)
class RevenueHistory:
    """The three ARR-history figures of /revenue/ as of one day, as stored in its RevenueDay row."""

    day: date
    trend: RevenueTrend
    retention: Retention
    pareto: list[ParetoPoint]
