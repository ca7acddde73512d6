"""factory_boy factories for the domain; tests build their data with these."""

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import (
    Account,
    AccountUseCase,
    ArrChange,
    Feature,
    NpsResponse,
    StatedDriver,
    Tier,
    UsageDaily,
    UseCase,
    Vertical,
)
from configuration.services import config_apply
from dashboards.services import rollups_backfill
from health.models import AccountMetrics, HealthScore, Measure, PublishedDay, Scorecard
from journeys.models import Journey, Stage
from people.models import User
from plays.models import Play, Task, TimelineNote
from segments.models import Segment, SegmentMembership


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("demo")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            # get_or_create: transactional tests flush the groups the data migration made.
            self.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in extracted))


class VerticalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vertical
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Vertical {n}")


class UseCaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UseCase
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Use case {n}")


class FeatureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Feature
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"feature_{n}")
    name = factory.LazyAttribute(lambda f: f.key.replace("_", " ").title())


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account
        skip_postgeneration_save = True

    external_id = factory.Sequence(lambda n: f"ACC-{n:05d}")
    name = factory.Sequence(lambda n: f"Customer {n}")
    vertical = factory.SubFactory(VerticalFactory)
    primary_use_case = factory.SubFactory(UseCaseFactory)
    arr = Decimal("12000.00")
    seats = 20
    employees = 100
    start_date = dt.date(2025, 1, 1)
    renewal_date = dt.date(2027, 1, 1)

    @factory.post_generation
    def link_primary(self, create, extracted, **kwargs):
        if create and self.primary_use_case_id:
            AccountUseCase.objects.get_or_create(account=self, use_case=self.primary_use_case)


class UsageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UsageDaily

    account = factory.SubFactory(AccountFactory)
    feature = factory.SubFactory(FeatureFactory)
    date = dt.date(2026, 6, 1)
    events = 3
    active_users = 2


# The factories below set only what a row cannot exist without (its account, its day…): every other
# field keeps the model's default, so a factory call means exactly what `objects.create` would.

DAY = dt.date(2026, 6, 30)


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Tier {n}")
    min_arr = Decimal("0")


class ArrChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ArrChange

    account = factory.SubFactory(AccountFactory)
    date = DAY
    arr = Decimal("12000.00")


class NpsResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NpsResponse

    account = factory.SubFactory(AccountFactory)
    date = DAY
    score = 8


class StatedDriverFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StatedDriver

    account = factory.SubFactory(AccountFactory)
    feature = factory.SubFactory(FeatureFactory)


class ScorecardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Scorecard
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Scorecard {n}")


class MeasureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Measure

    scorecard = factory.SubFactory(ScorecardFactory)
    metric = "active_days_30d"
    red = Decimal("0")
    green = Decimal("10")


class AccountMetricsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccountMetrics

    account = factory.SubFactory(AccountFactory)
    as_of = DAY


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment

    name = factory.Sequence(lambda n: f"Segment {n}")
    rule = factory.LazyFunction(lambda: {"field": "arr", "op": "gte", "value": 0})


class SegmentMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SegmentMembership

    segment = factory.SubFactory(SegmentFactory)
    account = factory.SubFactory(AccountFactory)
    entered_on = DAY


class JourneyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Journey

    vertical = factory.SubFactory(VerticalFactory)
    use_case = factory.SubFactory(UseCaseFactory)


class StageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stage

    journey = factory.SubFactory(JourneyFactory)
    name = factory.Sequence(lambda n: f"Stage {n}")


def usage(account, feature, day, events=1, active_users=1):
    return UsageDaily.objects.create(
        account=account, feature=feature, date=day, events=events, active_users=active_users
    )


def write_rollups(day=None):
    """What publish writes after a day's results: every rollup of `day` (default: every day with
    results) and the day's PublishedDay mark. Tests that build results by hand call it, as the
    pipeline would."""
    days = HealthScore.objects.filter(**({"as_of": day} if day else {})).values_list("as_of", flat=True).distinct()
    for published in days:
        PublishedDay.objects.get_or_create(day=published, defaults={"published_at": timezone.now()})
    return rollups_backfill(start=day, end=day, force=True)


class HealthScoreFactory(factory.django.DjangoModelFactory):
    """A day's result of an account, as published: its day gets a PublishedDay row too (publish
    writes one last), so pages and the API read it as the latest results."""

    class Meta:
        model = HealthScore

    account = factory.SubFactory(AccountFactory)
    as_of = dt.date(2026, 6, 30)
    band = "unknown"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        obj = super()._create(model_class, *args, **kwargs)
        PublishedDay.objects.get_or_create(day=obj.as_of, defaults={"published_at": timezone.now()})
        return obj


def play_apply(name="Play", trigger=None, **fields):
    """A play written through config_apply (the document's validation), returned from the database."""
    item = {
        "name": name,
        "trigger": trigger or {"type": "driver_unused"},
        "task": {"title": "Call {account.name}: {trigger.reason}", "assignee": "owner", "due_in_days": 3},
        **fields,
    }
    config_apply(document={"version": 1, "plays": [item]})
    return Play.objects.get(name=name)


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    account = factory.SubFactory(AccountFactory)
    title = factory.Sequence(lambda n: f"Task {n}")
    due_date = dt.date(2026, 7, 3)


class NoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimelineNote

    account = factory.SubFactory(AccountFactory)
    kind = "call"
    date = dt.date(2026, 6, 30)
    text = factory.Sequence(lambda n: f"Talked to the customer ({n})")
