"""/scorecards/ and /scorecards/<id>/: the rules, read-only, for every team member."""

import pytest
from django.urls import reverse

from configuration.services import config_apply
from health.models import Scorecard
from tests.factories import UseCaseFactory, VerticalFactory

pytestmark = pytest.mark.django_db


def cards(n: int) -> None:
    for i in range(n):
        VerticalFactory(name=f"Vertical {i}")
    config_apply(
        document={
            "version": 1,
            "scorecards": [
                {
                    "name": f"Card {i}",
                    "vertical": f"Vertical {i}",
                    "active": i != 1,
                    "healthy_at": 70,
                    "at_risk_below": 40,
                    "measures": [
                        {"metric": "active_days_90d", "weight": 2, "red": 1, "green": 5},
                        {"metric": "days_since_last_activity", "weight": 1.5, "red": 120, "green": 30},
                    ],
                }
                for i in range(n)
            ],
        }
    )


@pytest.mark.parametrize("who", ["csm", "leader", "cs_admin"])
def test_every_role_reads_the_scorecards(request, client_for, who):
    cards(2)
    user = request.getfixturevalue(who)
    client = client_for(user)
    page = client.get(reverse("health:scorecards")).content.decode()
    assert "Card 0" in page and "Vertical 0 · any use case" in page and "inactive" in page
    assert (
        "Active days (90d)</strong> (higher is better; weight 2): 0 points at 1 or less, full points at 5 or more"
        in page
    )
    assert (
        "Days since last activity</strong> (lower is better; weight 1.5): 0 points at 120 or more, full points at 30 or less"
        in page
    )
    assert 'href="/scorecards/"' in page  # the nav link
    sc = Scorecard.objects.get(name="Card 0")
    detail = client.get(reverse("health:scorecard", args=[sc.pk])).content.decode()
    assert "healthy from" not in detail and "score 70 or more" in detail and "40 to 69" in detail
    assert "Distinct days with events in the last 90 days" in detail
    # Only admins are offered the admin.
    assert ("Edit in the admin" in detail) == (who == "cs_admin")


def test_anonymous_visitors_are_sent_to_login(client):
    cards(1)
    for url in (reverse("health:scorecards"), reverse("health:scorecard", args=[Scorecard.objects.get().pk])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_unknown_scorecard_is_a_404(client_for, csm):
    assert client_for(csm).get("/scorecards/999999/").status_code == 404


def test_scope_in_words(client_for, csm):
    UseCaseFactory(name="PTA meetings")
    config_apply(
        document={
            "version": 1,
            "scorecards": [
                {
                    "name": "Any PTA",
                    "use_case": "PTA meetings",
                    "measures": [{"metric": "nps_latest", "red": 0, "green": 10}],
                }
            ],
        }
    )
    page = client_for(csm).get(reverse("health:scorecards")).content.decode()
    assert "any vertical · PTA meetings" in page


def test_query_count_does_not_grow_with_scorecards(client_for, leader, django_assert_num_queries):
    cards(2)
    client = client_for(leader)
    client.get(reverse("health:scorecards"))  # warm the session and the user's roles
    with django_assert_num_queries(5):
        assert client.get(reverse("health:scorecards")).status_code == 200
    cards(8)
    with django_assert_num_queries(5):
        page = client.get(reverse("health:scorecards")).content.decode()
    assert "Card 7" in page
