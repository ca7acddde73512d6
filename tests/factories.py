"""factory_boy factories for the domain; tests build their data with these."""

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth.models import Group

from accounts.models import Account, AccountUseCase, Feature, UsageDaily, UseCase, Vertical
from configuration.services import config_apply
from people.models import User
from plays.models import Play, Task, TimelineNote


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


def usage(account, feature, day, events=1, active_users=1):
    return UsageDaily.objects.create(account=account, feature=feature, date=day, events=events, active_users=active_users)


def play_apply(name="Play", trigger=None, **fields):
    """A play written through config_apply (the document's validation), returned from the database."""
    item = {"name": name, "trigger": trigger or {"type": "driver_unused"},
            "task": {"title": "Call {account.name}: {trigger.reason}", "assignee": "owner", "due_in_days": 3}, **fields}  # fmt: skip
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
