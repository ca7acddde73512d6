"""The accounts page at scale: its owner filter lists the CSMs who own accounts, in one query."""

import pytest
from django.utils import timezone

from people import roles
from tests.factories import AccountFactory, HealthScoreFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_owner_filter_lists_only_owners(client_for, leader):
    owner = UserFactory(username="owner1", first_name="Olive", roles=[roles.CSM])
    UserFactory(username="idle", first_name="Idle", roles=[roles.CSM])
    AccountFactory.create_batch(3, owner=owner)
    html = client_for(leader).get("/accounts/").content.decode()
    assert f'<option value="{owner.pk}">Olive</option>' in html
    assert ">Idle<" not in html


@pytest.mark.parametrize("who", ["csm", "leader", "cs_admin"])
def test_every_role_filters_by_owner(request, client_for, who):
    owner = UserFactory(username="owner1", first_name="Olive", roles=[roles.CSM])
    AccountFactory(owner=owner, name="Mine")
    AccountFactory(name="Not mine")
    html = client_for(request.getfixturevalue(who)).get("/accounts/", {"owner": owner.pk}).content.decode()
    assert "Mine" in html and "Not mine" not in html


@pytest.mark.parametrize("accounts", [3, 12])
def test_account_list_query_count_does_not_grow(client_for, leader, django_assert_num_queries, accounts):
    owners = [UserFactory(username=f"owner{i}", roles=[roles.CSM]) for i in range(3)]
    for i in range(accounts):
        HealthScoreFactory(account=AccountFactory(owner=owners[i % 3]), computed_at=timezone.now())
    client = client_for(leader)
    # + the results day, the tiers and segments of the filters, the count line (active/churned),
    # each row's freshness (the page's scores, their latest usage dates).
    with django_assert_num_queries(12):
        assert client.get("/accounts/").status_code == 200
