"""Deterministic, realistic demo data: five verticals with their own rhythm of use, two years of
usage, NPS, ARR changes, churn, stated drivers, the demo team and a starter configuration.

Usage starts USAGE_DAYS (730) days before `today` (or at the account's start date, if later): the
demo recomputes a year of history, and the longest window (365 days) of its first day then holds a
full year of usage rather than an empty one.

Churn is foreshadowed, differently per vertical (VerticalProfile.churn_signal): accounts that
churn use the product less in the months before, so a backtest finds a signal — and a scorecard
that watches the right thing for the vertical finds more of it than one for everyone. A few
churners give no warning at all (CHURN_WITHOUT_WARNING): real churn is not fully predictable.

The same seed and `today` give the same data, row for row.
"""

import json
import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from accounts.models import (
    Account,
    AccountUseCase,
    ArrChange,
    Feature,
    NpsResponse,
    Persona,
    StatedDriver,
    UsageDaily,
    UseCase,
    Vertical,
)
from configuration.services import config_apply
from people import roles
from people.models import User

FEATURES = {
    "scheduling": "Scheduling",
    "reminders": "Reminders",
    "calendar_sync": "Calendar sync",
    "video_rooms": "Video rooms",
    "round_robin": "Round-robin routing",
    "booking_pages": "Booking pages",
    "crm_sync": "CRM sync",
    "analytics": "Analytics",
}


@dataclass(frozen=True)
class VerticalProfile:
    name: str
    use_cases: tuple[str, ...]
    share: float  # of accounts
    median_arr: int
    strategic: float  # share of its accounts that are strategic (five times the ARR)
    features: tuple[str, ...]  # what its accounts mostly use, most used first
    rhythm: str
    # How its churners fade before churning: "frequency" (fewer active days), "terms" (term
    # starts skipped: fewer active months), "breadth" (fewer features), "seats" (fewer people).
    churn_signal: str = "frequency"
    warning_days: int = 90  # how long before churning the fade starts


VERTICALS = (
    VerticalProfile(
        "Tech Sales",
        ("Demo scheduling", "Pipeline reviews", "Customer onboarding calls"),
        0.28,
        48000,
        0.08,
        ("scheduling", "round_robin", "crm_sync", "calendar_sync", "video_rooms", "analytics"),
        "daily",
        "frequency",
        75,
    ),
    VerticalProfile(
        "Education",
        ("Parent-teacher conferences", "Board meetings", "PTA meetings"),
        0.24,
        11000,
        0.01,
        ("scheduling", "reminders", "booking_pages", "video_rooms"),
        "terms",
        "terms",
        300,
    ),
    VerticalProfile(
        "Recruiting",
        ("Candidate interviews", "Hiring panels", "Campus recruiting"),
        0.17,
        22000,
        0.02,
        ("scheduling", "round_robin", "video_rooms", "reminders", "calendar_sync"),
        "weekly",
        "breadth",
        120,
    ),
    VerticalProfile(
        "Customer Success",
        ("QBR scheduling", "Onboarding sessions", "Renewal calls"),
        0.16,
        26000,
        0.03,
        ("scheduling", "crm_sync", "booking_pages", "analytics", "reminders"),
        "weekdays",
        "seats",
        150,
    ),
    VerticalProfile(
        "Healthcare",
        ("Patient appointments", "Telehealth visits", "Staff rota planning"),
        0.15,
        18000,
        0.02,
        ("booking_pages", "reminders", "video_rooms", "scheduling"),
        "twice_weekly",
        "frequency",
        90,
    ),
)

TEAM = [
    ("csm", "Casey", "Morgan", roles.CSM, False),
    ("leader", "Lee", "Park", roles.LEADER, False),
    ("admin", "Ada", "Rivera", roles.ADMIN, True),
    ("priya", "Priya", "Shah", roles.CSM, False),
    ("marcus", "Marcus", "Bell", roles.CSM, False),
    ("elena", "Elena", "Ruiz", roles.CSM, False),
]
NAME_PARTS = {
    "Tech Sales": (
        [
            "Apex",
            "Bright",
            "Cobalt",
            "Delta",
            "Ember",
            "Flux",
            "Granite",
            "Helix",
            "Ion",
            "Juno",
            "Krypton",
            "Lumen",
            "Nimbus",
            "Orbit",
            "Pulse",
            "Quanta",
            "Radius",
            "Vertex",
        ],
        ["Software", "Labs", "Systems", "Cloud", "Analytics", "Networks", "AI", "Data"],
    ),
    "Education": (
        [
            "Lincoln",
            "Riverside",
            "Oak Park",
            "Maple",
            "Westfield",
            "Hillcrest",
            "Lakeview",
            "Cedar",
            "Fairview",
            "Brookside",
            "Summit",
            "Pinecrest",
            "Greenwood",
            "Northgate",
        ],
        ["High School", "Academy", "Elementary", "School District", "Middle School", "Prep"],
    ),
    "Recruiting": (
        ["Talent", "Hire", "Crew", "People", "Staff", "Pathway", "Bridge", "Scout", "Harbor", "Beacon"],
        ["Partners", "Search", "Group", "Recruiting", "Works", "Agency"],
    ),
    "Customer Success": (
        [
            "Loyal",
            "Keystone",
            "Anchor",
            "Thrive",
            "Uplift",
            "Northstar",
            "Clearview",
            "Evergreen",
            "Trueline",
            "Bluebird",
        ],
        ["Success", "Care", "Retention", "Partners", "Solutions", "CX"],
    ),
    "Healthcare": (
        ["St. Mary's", "Valley", "Mercy", "Harmony", "Sunrise", "Bayside", "Willow", "Unity", "Redwood", "Meadow"],
        ["Clinic", "Health", "Medical Group", "Hospital", "Care Center", "Family Practice"],
    ),
}

TRAJECTORIES = (("healthy", 0.66), ("declining", 0.14), ("struggling", 0.08), ("churned", 0.12))
CHURN_WITHOUT_WARNING = 0.2  # share of churners whose usage does not fade first
USAGE_DAYS = 730

# What CSMs write down when a customer names a driver: several phrasings per feature.
DRIVER_NOTES = {
    "scheduling": [
        "Booking without the email ping-pong is the whole point for them.",
        "Ops lead: 'we'd go back to spreadsheets without it'.",
        "",
    ],
    "reminders": [
        "Says reminders cut no-shows in half.",
        "No-show rate is their KPI; reminders are how they hit it.",
        "Front desk relies on the SMS reminders.",
    ],
    "calendar_sync": [
        "Two-way sync with Outlook was the deal breaker in the evaluation.",
        "Double bookings stopped once calendars synced.",
        "",
    ],
    "video_rooms": [
        "Wants everything in one link.",
        "Replaced their separate video tool with our rooms.",
        "Telehealth visits run in our video rooms.",
    ],
    "round_robin": [
        "Round-robin keeps the load fair across the team.",
        "Sales manager: routing is why reps adopted it.",
        "",
    ],
    "booking_pages": [
        "Their booking page is linked from the website's front page.",
        "Parents book conferences from the booking page.",
        "Patients self-book via the page.",
    ],
    "crm_sync": [
        "Their VP Sales says CRM sync is why they bought.",
        "RevOps reports on meetings synced to the CRM.",
        "",
    ],
    "analytics": [
        "Leadership reviews the analytics monthly.",
        "Uses the no-show report in their QBR with us.",
        "Wants more from analytics before renewal.",
    ],
}


RULES = Path(__file__).with_name("rules.json")


def demo_config() -> dict:
    """The starter configuration (demo/rules.json): scorecards per vertical, tiers, segments, journeys."""
    return json.loads(RULES.read_text())


class DemoGenerator:
    def __init__(self, *, accounts: int, seed: int, today: date):
        self.n = accounts
        self.rng = random.Random(seed)
        self.today = today
        self.start = today - timedelta(days=USAGE_DAYS - 1)
        self.year_ago = today - timedelta(days=364)

    def _pick(self, weighted):
        return self.rng.choices([w[0] for w in weighted], weights=[w[1] for w in weighted])[0]

    def team(self) -> list[User]:
        """Creates (or resets) the demo team, password `demo`; returns the CSMs who own accounts."""
        groups = {g.name: g for g in Group.objects.filter(name__in=roles.ROLES)}
        csms = []
        for username, first, last, role, staff in TEAM:
            user, _ = User.objects.get_or_create(username=username)
            user.first_name, user.last_name, user.email = first, last, f"{username}@cs-portal.demo"
            user.is_staff = staff
            user.set_password("demo")
            user.save()
            user.groups.set([groups[role]])
            if role == roles.CSM:
                csms.append(user)
        return csms

    def active_probability(self, rhythm: str, day: date, trajectory: str, progress: float) -> float:
        """How likely the account is to use the product on `day` (progress: 0 a year ago or before → 1 today)."""
        weekday = day.weekday() < 5
        if rhythm == "terms":
            # Schools: a few busy days around the start of each term, quiet otherwise.
            md = (day.month, day.day)
            in_term_start = (8, 20) <= md <= (9, 12) or (1, 4) <= md <= (1, 18) or (4, 8) <= md <= (4, 18)
            base = 0.45 if in_term_start and weekday else 0.01
        elif rhythm == "daily":
            base = 0.92 if weekday else 0.08
        elif rhythm == "weekdays":
            base = 0.6 if weekday else 0.02
        elif rhythm == "weekly":
            base = 0.55 if day.weekday() in (1, 2, 3) else 0.05
        else:  # twice a week
            base = 0.5 if day.weekday() in (0, 3) else 0.04
        if trajectory == "declining":
            base *= max(0.1, 1.1 - progress)
        elif trajectory == "struggling":
            base *= 0.25
        return base

    def generate(self) -> dict:
        rng, today = self.rng, self.today
        csms = self.team()
        config_apply(document=demo_config(), dry_run=False, prune=False)
        verticals = {v.name: v for v in Vertical.objects.all()}
        use_cases = {u.name: u for u in UseCase.objects.all()}
        features = {f.key: f for f in Feature.objects.all()}

        accounts, plans = [], []
        used_names: set[str] = set()
        for i in range(self.n):
            profile = self._pick([(v, v.share) for v in VERTICALS])
            trajectory = self._pick(TRAJECTORIES)
            first, second = NAME_PARTS[profile.name]
            name = f"{rng.choice(first)} {rng.choice(second)}"
            while name in used_names:
                name = f"{rng.choice(first)} {rng.choice(second)} {rng.randint(2, 99)}"
            used_names.add(name)
            arr = Decimal(round(profile.median_arr * math.exp(rng.gauss(0, 0.8)) / 100) * 100)
            if rng.random() < profile.strategic:
                arr *= 5
            seats = max(3, int(arr / Decimal(rng.choice([400, 600, 900]))))
            start = today - timedelta(days=rng.randint(200, 1500))
            renewal = today + timedelta(days=rng.randint(-20, 360))
            # Churn spread over the year of history, so a backtest has churn after each observation.
            churned_on = today - timedelta(days=rng.randint(20, 330)) if trajectory == "churned" else None
            n_use_cases = rng.choice([1, 1, 2, 2, 3])
            account_use_cases = rng.sample(profile.use_cases, n_use_cases)
            accounts.append(
                Account(
                    external_id=f"{profile.name[:3].upper().replace(' ', '')}-{i + 1:05d}",
                    name=name,
                    vertical=verticals[profile.name],
                    primary_use_case=use_cases[account_use_cases[0]],
                    arr=arr,
                    owner=csms[i % len(csms)],
                    employees=seats * rng.choice([2, 3, 5, 8]),
                    persona=rng.choice([p.value for p in Persona] + [""]),
                    seats=seats if rng.random() > 0.05 else None,
                    start_date=start,
                    renewal_date=renewal,
                    churned_on=churned_on,
                )
            )
            plans.append((profile, trajectory, account_use_cases))
        Account.objects.bulk_create(accounts, batch_size=1000)
        # Read back with their ids (not every database returns them from a bulk insert), in creation order.
        saved = Account.objects.in_bulk([a.external_id for a in accounts], field_name="external_id")
        accounts = [saved[a.external_id] for a in accounts]

        links, usage, nps, arr_changes, drivers = [], [], [], [], []
        for account, (profile, trajectory, account_use_cases) in zip(accounts, plans, strict=True):
            links.extend(AccountUseCase(account=account, use_case=use_cases[u]) for u in account_use_cases)
            usage.extend(self._usage(account, profile, trajectory, features))
            nps.extend(self._nps(account, trajectory))
            arr_changes.extend(self._arr_history(account))
            drivers.extend(self._drivers(account, profile, features, csms))
        AccountUseCase.objects.bulk_create(links, batch_size=5000)
        UsageDaily.objects.bulk_create(usage, batch_size=5000)
        NpsResponse.objects.bulk_create(nps, batch_size=5000)
        ArrChange.objects.bulk_create(arr_changes, batch_size=5000)
        recorded = [d.recorded_at for d in drivers]  # auto_now_add overwrites them on insert
        StatedDriver.objects.bulk_create(drivers, batch_size=5000)
        for driver, when in zip(drivers, recorded, strict=True):
            driver.recorded_at = when
        StatedDriver.objects.bulk_update(drivers, ["recorded_at"], batch_size=5000)
        return {"accounts": len(accounts), "usage rows": len(usage), "NPS responses": len(nps)}

    def _usage(self, account, profile, trajectory, features):
        rng = self.rng
        end = (
            min(self.today, account.churned_on - timedelta(days=rng.randint(10, 40)))
            if account.churned_on
            else self.today
        )
        seats = account.seats or 20
        intensity = {"healthy": 1.0, "declining": 0.7, "struggling": 0.35, "churned": 0.8}[trajectory]
        warns = trajectory == "churned" and rng.random() >= CHURN_WITHOUT_WARNING
        n_features = max(
            1, min(len(profile.features), round(len(profile.features) * intensity * rng.uniform(0.5, 1.0)))
        )
        used = profile.features[:n_features]
        adoption = rng.uniform(0.25, 1.0)  # share of the seats this customer's people actually use
        rows = []
        day = max(self.start, account.start_date or self.start)
        while day <= end:
            progress = max(0.0, (day - self.year_ago).days / 364)
            # 1 until the churner's fade starts, then down towards 0 on its churn date.
            fade = 1.0
            if warns:
                fade = min(1.0, max(0.0, (account.churned_on - day).days / profile.warning_days))
            chance = self.active_probability(profile.rhythm, day, trajectory, progress)
            if profile.churn_signal in ("frequency", "terms"):
                chance *= 0.1 + 0.9 * fade if profile.churn_signal == "frequency" else (1.0 if fade >= 1 else 0.12)
            elif profile.churn_signal == "breadth":
                chance *= 0.6 + 0.4 * fade
            if rng.random() < chance:
                people = seats * intensity * adoption * (0.15 + 0.85 * fade if profile.churn_signal == "seats" else 1)
                users = max(1, int(people * rng.uniform(0.5, 1.0)))
                breadth = len(used) if profile.churn_signal != "breadth" else max(1, round(len(used) * fade))
                for i, key in enumerate(used[:breadth]):
                    if i and rng.random() < 0.45:
                        continue
                    events = max(1, int(rng.expovariate(1 / (users * (1.5 if i == 0 else 0.6)))))
                    rows.append(
                        UsageDaily(account=account, date=day, feature=features[key], events=events, active_users=users)
                    )
            day += timedelta(days=1)
        return rows

    def _nps(self, account, trajectory):
        rng = self.rng
        center = {"healthy": 8.6, "declining": 6.5, "struggling": 4.5, "churned": 4}[trajectory]
        answers = {}
        for _ in range(rng.randint(0, 6)):
            day = self.today - timedelta(days=rng.randint(0, USAGE_DAYS - 1))
            if account.start_date and day < account.start_date:
                continue
            if account.churned_on and day >= account.churned_on:
                continue
            answers[day] = NpsResponse(
                account=account,
                date=day,
                score=max(0, min(10, round(rng.gauss(center, 1.4)))),
                comment=rng.choice(
                    [
                        "",
                        "",
                        "Reminders save us hours.",
                        "Setup was confusing.",
                        "Love the booking pages.",
                        "Too expensive for what we use.",
                    ]
                ),
            )
        return answers.values()

    def _arr_history(self, account):
        """The ARR since the account started (or 18 months ago), then 0–2 expansions or contractions."""
        rng = self.rng
        first = max(account.start_date, self.today - timedelta(days=540))
        days_ago = sorted(rng.sample(range(30, 360, 30), rng.choice([0, 0, 1, 1, 2])))  # a month or more apart
        changed_on = [d for d in (self.today - timedelta(days=n) for n in days_ago) if d > first]  # newest first
        values = [account.arr]  # newest first: today's ARR, then the ARR before each change
        for _ in changed_on:
            factor = Decimal(rng.choice(["0.8", "0.9", "1.15", "1.25", "1.4"]))
            values.append((values[-1] / factor / 100).quantize(Decimal("1")) * 100)
        changes, previous = [], None
        for day, value in zip([first, *reversed(changed_on)], reversed(values), strict=True):
            changes.append(ArrChange(account=account, date=day, arr=value, previous_arr=previous))
            previous = value
        return changes

    def _drivers(self, account, profile, features, csms):
        """What the customer says works: mostly features of its vertical (used or not), sometimes any;
        recorded on different days (after the account started, before it churned), mostly by its
        owner, sometimes by a colleague who covered a call."""
        rng = self.rng
        if rng.random() > 0.45:
            return []
        pool = profile.features if rng.random() < 0.7 else tuple(FEATURES)
        keys = rng.sample(pool, rng.randint(1, 2))
        first = max(account.start_date or self.start, self.start)
        last = min(self.today, account.churned_on or self.today)
        drivers = []
        for k in keys:
            day = first + timedelta(days=rng.randint(0, max(0, (last - first).days)))
            when = timezone.make_aware(datetime.combine(day, time(rng.randint(8, 17), rng.choice([0, 15, 30, 45]))))
            drivers.append(
                StatedDriver(
                    account=account,
                    feature=features[k],
                    note=rng.choice(DRIVER_NOTES.get(k, ["Mentioned on the last call."])),
                    recorded_by=account.owner if rng.random() < 0.75 else rng.choice(csms),
                    recorded_at=when,
                )
            )
        return drivers


class DemoDataExists(Exception):
    def __init__(self, accounts: int):
        super().__init__(f"the database already has {accounts} accounts: use --reset to replace them with demo data")
        self.accounts = accounts


@transaction.atomic
def demo_seed(*, accounts: int = 300, seed: int = 42, today: date | None = None, reset: bool = False) -> dict:
    """Loads the demo into an empty database (or, with `reset`, in place of every account and its data).

    Refuses with DemoDataExists rather than mixing demo accounts into existing ones.
    """
    existing = Account.objects.count()
    if existing and not reset:
        raise DemoDataExists(existing)
    if existing:
        # Usage, NPS, ARR history, drivers, health results and memberships cascade with their accounts.
        Account.objects.all().delete()
    return DemoGenerator(accounts=accounts, seed=seed, today=today or timezone.localdate()).generate()
