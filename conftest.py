"""The cast every test can use: a CSM, a leader, an admin, a user without a role and an anonymous visitor."""

import pytest
from django.test import Client

from people import roles
from tests.factories import UserFactory


@pytest.fixture
def csm(db):
    return UserFactory(username="csm", first_name="Casey", roles=[roles.CSM])


@pytest.fixture
def leader(db):
    return UserFactory(username="leader", first_name="Lee", roles=[roles.LEADER])


@pytest.fixture
def cs_admin(db):
    return UserFactory(username="admin", first_name="Ada", is_staff=True, roles=[roles.ADMIN])


@pytest.fixture
def no_role(db):
    """Signed in, but no group and not staff: offboarded, or created in the admin without a group."""
    return UserFactory(username="norole", first_name="Nora")


@pytest.fixture
def client_for():
    """client_for(user) → a test client logged in as that user (None: anonymous)."""

    def make(user):
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make
