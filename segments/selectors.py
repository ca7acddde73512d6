"""Reads over segments and their membership."""

from datetime import date

from django.db.models import Q, QuerySet

from accounts.models import Account
from segments.models import Segment, SegmentMembership


def memberships_on(day: date) -> QuerySet[SegmentMembership]:
    """Stays that include `day`: entered on or before it, not left by it."""
    return SegmentMembership.objects.filter(entered_on__lte=day).filter(Q(left_on__isnull=True) | Q(left_on__gt=day))


def segment_accounts(segment: Segment, day: date) -> QuerySet[Account]:
    return Account.objects.filter(pk__in=memberships_on(day).filter(segment=segment).values("account_id"))
