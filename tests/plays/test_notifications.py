"""Notifications of plays through Celery: signed webhooks to a real local receiver, retries with
backoff (500, 500, 200 → delivered once, three attempts), a receiver that never answers (gives
up; the recompute is unaffected), email to the assignee, Apprise, resend, the digest, and a real
Celery worker on Redis running the deliveries."""

import datetime as dt
import hashlib
import hmac
import json
import time
from unittest import mock

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from configuration.services import config_apply
from cs_portal.celery import app as celery_app
from health.models import HealthScore
from pipeline.models import RecomputeRun
from plays import services
from plays.models import Delivery, DeliveryAttempt, PlayFiring, Task
from plays.notifications import SIGNATURE_HEADER
from plays.services import plays_fire
from plays.tasks import deliver, deliver_batch
from tests.factories import AccountFactory, HealthScoreFactory, UserFactory, VerticalFactory, play_apply
from tests.pipeline.test_tasks import BROKER, ROOT, worker  # noqa: F401 - the real-worker fixture
from tests.receivers import Receiver

D = dt.date(2026, 6, 30)
SECRET = "a-long-webhook-secret"


@pytest.fixture
def fast_retries(settings):
    settings.PLAYS_RETRY_BACKOFF = 0.01
    settings.PLAYS_WEBHOOK_TIMEOUT = 0.5


def dropping_accounts(n=1, owner=None, day=D):
    accounts = [
        AccountFactory(name=f"Account {i}", vertical=VerticalFactory(name="Education"), owner=owner) for i in range(n)
    ]
    for account in accounts:
        HealthScoreFactory(account=account, as_of=day - dt.timedelta(days=7), score=90, band="healthy")
        HealthScoreFactory(account=account, as_of=day, score=35, band="at_risk")
    return accounts


@pytest.mark.django_db
def test_webhook_body_and_signature_reach_a_real_receiver(fast_retries, django_capture_on_commit_callbacks):
    (account,) = dropping_accounts()
    with Receiver() as receiver:
        play = play_apply(
            "Drop", {"type": "score_dropped", "points": 20}, webhook={"url": receiver.url, "secret": SECRET}
        )
        with django_capture_on_commit_callbacks(execute=True):
            report = plays_fire(day=D, notify=True)
        assert report.deliveries == 1
        (request,) = receiver.wait_for(1)
    body = request["body"]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert request["headers"][SIGNATURE_HEADER] == expected
    assert request["headers"]["Content-Type"] == "application/json"
    delivery = Delivery.objects.get()
    assert request["headers"]["Idempotency-Key"] == delivery.key
    payload = json.loads(body)
    task = Task.objects.get()
    assert payload["event"] == "play.fired" and payload["day"] == "2026-06-30"
    assert payload["account"]["external_id"] == account.external_id and payload["play"] == {
        "id": play.pk,
        "name": "Drop",
    }
    assert payload["trigger"]["type"] == "score_dropped" and payload["trigger"]["points"] == 20
    assert payload["trigger"]["reason"] == "score fell 55 points in 7 days (90 → 35)"
    assert payload["health"]["score"] == 35 and payload["health"]["band"] == "at_risk"
    assert payload["health"]["explanation"] == task.why
    assert payload["task"]["id"] == task.pk and payload["task"]["url"].endswith(f"/accounts/{account.pk}/#tasks")
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    attempt = DeliveryAttempt.objects.get()
    assert attempt.ok and attempt.status_code == 200 and attempt.latency_ms >= 0


@pytest.mark.django_db
def test_500_twice_then_200_is_delivered_once_after_three_attempts(fast_retries, django_capture_on_commit_callbacks):
    dropping_accounts()
    with Receiver(codes=(500, 500, 200)) as receiver:
        play_apply("Drop", {"type": "score_dropped", "points": 20}, webhook={"url": receiver.url, "secret": SECRET})
        with django_capture_on_commit_callbacks(execute=True):
            plays_fire(day=D, notify=True)
        receiver.wait_for(3)
        time.sleep(0.2)
    assert len(receiver.requests) == 3
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
    attempts = list(DeliveryAttempt.objects.order_by("id").values_list("status_code", "ok", "error"))
    assert attempts == [
        (500, False, "HTTP 500 Internal Server Error"),
        (500, False, "HTTP 500 Internal Server Error"),
        (200, True, ""),
    ]
    assert len({r["headers"]["Idempotency-Key"] for r in receiver.requests}) == 1  # the receiver can drop repeats
    assert len({r["body"] for r in receiver.requests}) == 1


def test_backoff_is_exponential(settings):
    settings.PLAYS_RETRY_BACKOFF = 2
    assert [services.retry_delay(n) for n in range(1, 6)] == [2, 4, 8, 16, 32]


@pytest.mark.django_db
def test_a_receiver_that_never_answers_gives_up_and_the_recompute_is_unaffected(
    fast_retries, settings, django_capture_on_commit_callbacks
):
    settings.PLAYS_WEBHOOK_TIMEOUT = 0.2
    today = timezone.localdate()
    AccountFactory(name="Quiet one")
    with Receiver(hang=3) as receiver:
        config_apply(
            document={
                "version": 1,
                "scorecards": [{"name": "Any", "measures": [{"metric": "active_days_30d", "red": 0, "green": 10}]}],
                "segments": [{"name": "Quiet", "rule": {"field": "health_band", "op": "eq", "value": "at_risk"}}],
                "plays": [
                    {
                        "name": "Quiet",
                        "trigger": {"type": "segment_entered", "segment": "Quiet"},
                        "task": None,
                        "webhook": {"url": receiver.url, "secret": SECRET},
                    }
                ],
            }
        )
        with django_capture_on_commit_callbacks(execute=True):
            call_command("recompute", as_of=today.isoformat())
    run = RecomputeRun.objects.get()
    assert run.status == "succeeded" and HealthScore.objects.filter(as_of=today).count() == 1
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", services.MAX_ATTEMPTS)
    assert DeliveryAttempt.objects.filter(ok=False, error__startswith="no answer").count() == services.MAX_ATTEMPTS
    assert PlayFiring.objects.get().task is None  # a play without a task only notifies


def firings_to(receiver_url: str, n: int) -> list[int]:
    accounts = dropping_accounts(n=n)
    play_apply("Drop", {"type": "score_dropped", "points": 20}, webhook={"url": receiver_url, "secret": SECRET})
    plays_fire(day=D, notify=True)  # in the test's transaction: nothing is queued
    ids = list(Delivery.objects.order_by("pk").values_list("pk", flat=True))
    assert len(ids) == len(accounts)
    return ids


@pytest.mark.django_db
def test_a_batch_of_deliveries_is_a_few_queries_and_one_kept_alive_connection(django_assert_num_queries):
    with Receiver(keep_alive=True) as receiver:
        ids = firings_to(receiver.url, 20)
        # Load the batch (with its plays), insert its attempts, update the deliveries: 3 queries for 20.
        with django_assert_num_queries(3):
            statuses = services.deliveries_attempt(delivery_ids=ids)
        assert statuses == dict.fromkeys(ids, "delivered")
        assert len(receiver.requests) == 20 and receiver.connections <= 1 + 1  # reused (one may predate the batch)
    assert DeliveryAttempt.objects.filter(ok=True, status_code=200).count() == 20
    assert len({r["headers"]["Idempotency-Key"] for r in receiver.requests}) == 20
    assert services.deliveries_attempt(delivery_ids=ids) == {}  # delivered ones are not sent again


@pytest.mark.django_db
def test_a_failing_receiver_costs_a_batch_one_attempt_and_the_rest_wait_for_their_own(fast_retries):
    with Receiver(codes=(500, 200)) as receiver:
        ids = firings_to(receiver.url, 4)
        statuses = services.deliveries_attempt(delivery_ids=ids)
        assert statuses == {ids[0]: "pending"} and len(receiver.requests) == 1
        assert set(Delivery.objects.filter(pk__in=ids[1:]).values_list("status", "attempts")) == {("pending", 0)}
        # The task hands each of them to `deliver`, which retries with backoff (eager here: at once).
        with mock.patch("plays.tasks.deliver.apply_async", lambda args, countdown=0: deliver.apply(args)):
            deliver_batch.run(ids)
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}
    assert Delivery.objects.get(pk=ids[0]).attempts == 2 and DeliveryAttempt.objects.count() == 5


@pytest.mark.django_db
def test_an_email_without_recipient_holds_back_no_other_email_of_the_batch():
    dropping_accounts(owner=None)  # first: unassigned, nobody to email
    dropping_accounts(owner=UserFactory(username="casey", email="casey@example.com", roles=["CSM"]))
    play_apply("Drop", {"type": "score_dropped", "points": 20}, notify=["email"])
    plays_fire(day=D, notify=True)
    ids = list(Delivery.objects.order_by("pk").values_list("pk", flat=True))
    assert services.deliveries_attempt(delivery_ids=ids) == {ids[0]: "skipped", ids[1]: "delivered"}
    assert [m.to for m in mail.outbox] == [["casey@example.com"]]


@pytest.mark.django_db
def test_a_broker_that_is_down_never_fails_the_publish(django_capture_on_commit_callbacks):
    dropping_accounts()
    play_apply(
        "Drop", {"type": "score_dropped", "points": 20}, webhook={"url": "http://127.0.0.1:9/h", "secret": SECRET}
    )
    broken = mock.patch("plays.tasks.deliver_batch.delay", side_effect=OSError("connection refused"))
    with broken, django_capture_on_commit_callbacks(execute=True):
        plays_fire(day=D, notify=True)
    assert Delivery.objects.get().status == "pending"  # the sweep queues it again


@pytest.mark.django_db
def test_email_goes_to_the_assignee(fast_retries, django_capture_on_commit_callbacks):
    owner = UserFactory(username="casey", email="casey@example.com", roles=["CSM"])
    dropping_accounts(owner=owner)
    dropping_accounts(owner=None)  # unassigned: nobody to email
    play_apply("Drop", {"type": "score_dropped", "points": 20}, notify=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        plays_fire(day=D, notify=True)
    (message,) = mail.outbox
    assert message.to == ["casey@example.com"] and message.subject.startswith("[CS Portal] Call Account 0")
    assert "score fell 55 points in 7 days" in message.body
    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["delivered", "skipped"]


@pytest.mark.django_db
def test_apprise_channel_posts_to_a_local_json_endpoint(fast_retries, django_capture_on_commit_callbacks):
    dropping_accounts()
    with Receiver() as receiver:
        port = receiver.server.server_port
        play_apply("Drop", {"type": "score_dropped", "points": 20}, notify=[f"json://127.0.0.1:{port}/chat"])
        with django_capture_on_commit_callbacks(execute=True):
            plays_fire(day=D, notify=True)
        (request,) = receiver.wait_for(1)
    assert request["path"] == "/chat" and "score fell 55 points" in json.loads(request["body"])["message"]
    assert Delivery.objects.get().status == "delivered"


@pytest.mark.django_db
def test_history_days_are_not_notified(django_capture_on_commit_callbacks):
    dropping_accounts()
    play_apply("Drop", {"type": "score_dropped", "points": 20}, notify=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        report = plays_fire(day=D)  # D is long before today: history being recomputed
    assert report.fired == 1 and report.deliveries == 0 and mail.outbox == []


@pytest.mark.django_db
def test_admin_resend_sends_the_same_delivery_again(
    fast_retries, client_for, cs_admin, django_capture_on_commit_callbacks
):
    dropping_accounts()
    with Receiver() as receiver:
        play_apply("Drop", {"type": "score_dropped", "points": 20}, webhook={"url": receiver.url, "secret": SECRET})
        with django_capture_on_commit_callbacks(execute=True):
            plays_fire(day=D, notify=True)
        delivery = Delivery.objects.get()
        client = client_for(cs_admin)
        assert client.get(reverse("admin:plays_delivery_change", args=[delivery.pk])).status_code == 200
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("admin:plays_delivery_changelist"), {"action": "resend", "_selected_action": [delivery.pk]}
            )
        assert response.status_code == 302
        receiver.wait_for(2)
    assert len(receiver.requests) == 2 and receiver.requests[0]["body"] == receiver.requests[1]["body"]
    assert DeliveryAttempt.objects.count() == 2 and Delivery.objects.get().status == "delivered"


@pytest.mark.django_db
def test_daily_digest_per_csm(csm):
    csm.email = "casey@example.com"
    csm.save()
    today = timezone.localdate()
    [account] = dropping_accounts(owner=csm, day=today)
    Task.objects.create(account=account, title="Call them", assignee=csm, due_date=today + dt.timedelta(days=2))
    Task.objects.create(account=account, title="Old one", assignee=csm, due_date=today - dt.timedelta(days=3))
    UserFactory(username="quiet", email="quiet@example.com", roles=["CSM"])  # nothing to say: no email
    assert services.digest_send(day=today) == 1
    (message,) = mail.outbox
    assert message.to == ["casey@example.com"] and message.subject == "[CS Portal] 2 new, 1 overdue"
    assert "Account 0: Call them" in message.body and "Overdue tasks (1):" in message.body
    assert "Account 0: healthy → at risk" in message.body


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_celery_worker_on_redis_delivers(worker):  # noqa: F811 - the fixture imported above
    dropping_accounts(n=3)
    with Receiver(codes=(500, 200, 200, 200)) as receiver:
        play_apply("Drop", {"type": "score_dropped", "points": 20}, webhook={"url": receiver.url, "secret": SECRET})
        # Publish to the test broker explicitly (as tests/pipeline/test_tasks.py does): a producer pool an
        # earlier test opened may still point at the in-memory broker.
        with celery_app.connection_for_write(BROKER) as conn, conn.Producer() as producer:
            to_redis = mock.patch(
                "plays.tasks.deliver_batch.delay", lambda ids: deliver_batch.apply_async((ids,), producer=producer)
            )
            with to_redis:
                plays_fire(day=D, notify=True)  # outside a test transaction: on_commit runs at once
        receiver.wait_for(4, timeout=60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and Delivery.objects.exclude(status="delivered").exists():
            time.sleep(0.2)
    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["delivered"] * 3
    assert DeliveryAttempt.objects.count() == 4  # one retried after the 500
    log = (ROOT / "tests" / ".worker.log").read_text()
    # One batch; the 500 held the other two back to tasks of their own, and its retry is one too.
    assert "plays.tasks.deliver_batch[" in log and "plays.tasks.deliver[" in log
