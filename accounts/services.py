"""Writes on customer accounts made from the pages (imports have their own modules)."""

from django.db import transaction

from accounts.models import Account, Feature, StatedDriver


@transaction.atomic
def stated_driver_record(*, account: Account, feature: Feature, note: str = "", recorded_by) -> StatedDriver:
    """Record what the customer says gets them results ("say"), checked against usage ("do")."""
    return StatedDriver.objects.create(account=account, feature=feature, note=note.strip(), recorded_by=recorded_by)
