"""Writes on customer accounts made from the pages (imports have their own modules)."""

from django.db import transaction

from accounts.freshness import Reason, dirty_accounts_mark
from accounts.models import Account, Feature, StatedDriver


@transaction.atomic
def stated_driver_record(*, account: Account, feature: Feature, note: str = "", recorded_by) -> StatedDriver:
    """Record what the customer says gets them results ("say"), checked against usage ("do")."""
    driver = StatedDriver.objects.create(account=account, feature=feature, note=note.strip(), recorded_by=recorded_by)
    dirty_accounts_mark(ids=[account.pk], reason=Reason.DRIVER)
    return driver


@transaction.atomic
def account_admin_saved(*, account: Account) -> None:
    """After the admin saved an account (and its use cases): its results are recomputed today."""
    dirty_accounts_mark(ids=[account.pk], reason=Reason.ACCOUNT)
