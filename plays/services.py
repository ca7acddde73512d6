"""Writes of plays: firing on a published day, tasks, notes and deliveries (SPEC §9).

`plays_fire(day=…)` is called by the publish step of every recompute, inside its transaction.
It is set-based: per active play, one detection query (plays.triggers), one query for the
firings that block (same day: idempotent; within the cooldown), then a few bulk statements per
5,000 firings — never a query per account. Deliveries are queued with `transaction.on_commit`,
so nothing is sent for a publish that rolls back, and sending never slows or fails the publish.
"""

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from accounts.models import Account
from health.models import HealthScore
from plays import notifications, triggers, wording
from plays.models import Delivery, DeliveryAttempt, Play, PlayFiring, Task, TaskEvent, TimelineNote
from plays.selectors import digest_for
from segments.rules import RuleError

log = logging.getLogger(__name__)
User = get_user_model()

CHUNK = 5000
# Firings of days older than this (history being recomputed) open tasks but send nothing.
NOTIFY_MAX_AGE_DAYS = 2
MAX_ATTEMPTS = 6  # the first try and 5 retries


@dataclass
class FireReport:
    day: date
    plays: int = 0
    fired: int = 0
    tasks_opened: int = 0
    tasks_updated: int = 0
    deliveries: int = 0
    backfill: bool = False
    per_play: dict[str, int] = field(default_factory=dict)


def _site_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


class _Assignees:
    """Resolves a play's assignee rule per account, with one query per distinct rule."""

    def __init__(self):
        self.by_email: dict[str, int | None] = {}
        self.by_group: dict[str, list[int]] = {}

    def resolve(self, rule: str, account: Account) -> int | None:
        rule = (rule or "owner").strip()
        if rule.startswith("user:"):
            email = rule[5:].strip().lower()
            if email not in self.by_email:
                self.by_email[email] = (
                    User.objects.filter(email__iexact=email, is_active=True)
                    .order_by("pk")
                    .values_list("pk", flat=True)
                    .first()
                )
            return self.by_email[email]
        if rule.startswith("group:"):
            name = rule[6:].strip()
            if name not in self.by_group:
                self.by_group[name] = list(
                    User.objects.filter(groups__name__iexact=name, is_active=True)
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
            members = self.by_group[name]
            # Spread the group's accounts over its members, the same member for the same account every time.
            return members[account.pk % len(members)] if members else None
        return account.owner_id


def _health_rows(ids: list[int], days: list[date]) -> dict[tuple[int, date], tuple]:
    rows = HealthScore.objects.filter(account_id__in=ids, as_of__in=days).values_list(
        "account_id", "as_of", "score", "band", "measures"
    )
    return {(a, d): (score, band, measures) for a, d, score, band, measures in rows}


def describe_hits(play: Play, day: date, hits: dict[int, dict]) -> dict[int, dict]:
    """For each account id of `hits`: the account, why (words), facts and the template context."""
    out = {}
    week_ago = day - timedelta(days=7)
    ids = sorted(hits)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        accounts = Account.objects.filter(pk__in=chunk).select_related("vertical", "owner")
        health = _health_rows(chunk, [day, week_ago])
        for account in accounts:
            trig = hits[account.pk]
            score, band, measures = health.get((account.pk, day), (None, "unknown", []))
            then = health.get((account.pk, week_ago))
            move = wording.biggest_move(measures, then[2] if then else None)
            kind = play.trigger_type
            why = wording.why_text(kind, trig, day, score=score, band=band, move=move)
            facts = {
                "trigger": {"type": kind, **trig},
                "score": score,
                "band": band,
                "score_7d_ago": then[0] if then else None,
                "measure": move,
            }
            days_to_renewal = (account.renewal_date - day).days if account.renewal_date else None
            context = {
                "account": {
                    "name": account.name,
                    "external_id": account.external_id,
                    "vertical": account.vertical.name,
                    "arr": account.arr,
                    "owner": str(account.owner) if account.owner else None,
                    "renewal_date": account.renewal_date,
                    "days_to_renewal": days_to_renewal,
                },
                "health": {
                    "score": score,
                    "band": wording.BAND_WORDS.get(band, band),
                    "score_7d_ago": facts["score_7d_ago"],
                },
                "trigger": {"type": kind, "reason": wording.trigger_reason(kind, trig), **trig},
                "play": {"name": play.name},
                "measure": {"label": move["label"], "text": move["text"]} if move else {},
            }
            out[account.pk] = {"account": account, "why": why, "facts": facts, "context": context}
    return out


def _blocked(play: Play, day: date, ids: list[int]) -> set[int]:
    """Those of `ids` the play may not fire for on `day`: fired that day already, or within the cooldown.

    One query for all of them (it was once evaluated per hit: a query per account)."""
    start = day - timedelta(days=max(play.cooldown_days - 1, 0))
    firings = PlayFiring.objects.filter(play=play, day__gte=start, day__lte=day)
    if len(ids) <= CHUNK:  # a literal list: the (play, account, -day) index answers it
        firings = firings.filter(account_id__in=ids)
    return set(firings.values_list("account_id", flat=True))


def _delivery_key(firing_id: int, channel: str) -> str:
    return f"{firing_id}-{hashlib.sha256(channel.encode()).hexdigest()[:16]}"


def _payload(channel: str, play: Play, firing: PlayFiring, described: dict, task: Task | None, assignee) -> dict:
    account = described["account"]
    title = task.title if task else f"{play.name}: {account.name}"
    link = _site_url(f"/accounts/{account.pk}/#tasks")
    if channel == "email":
        body = f"{described['why']}\n\n{task.body + chr(10) + chr(10) if task and task.body else ''}Open the account: {link}\n"
        return {"to": getattr(assignee, "email", "") or "", "subject": f"[CS Portal] {title}", "body": body}
    if channel == "webhook":
        facts = described["facts"]
        return {
            "url": play.webhook_url,
            "body": {
                "event": "play.fired",
                "day": firing.day.isoformat(),
                "play": {"id": play.pk, "name": play.name},
                "trigger": {
                    **play.trigger,
                    "reason": wording.trigger_reason(play.trigger_type, facts["trigger"]),
                    "facts": facts["trigger"],
                },
                "account": {
                    "id": account.pk,
                    "external_id": account.external_id,
                    "name": account.name,
                    "vertical": account.vertical.name,
                    "arr": str(account.arr),
                    "owner": account.owner.email if account.owner else None,
                },
                "health": {
                    "score": facts["score"],
                    "band": facts["band"],
                    "score_7d_ago": facts["score_7d_ago"],
                    "explanation": described["why"],
                    "measure": facts["measure"],
                },
                "task": {"id": task.pk, "title": task.title, "url": link} if task else None,
                "firing": firing.pk,
            },
        }
    return {"title": f"[CS Portal] {title}", "body": f"{described['why']}\n{link}"}


def plays_fire(
    *, day: date, notify: bool | None = None, play_ids: list[int] | None = None, accounts: QuerySet | None = None
) -> FireReport:
    """Fires every active play for the results published for `day`.

    Idempotent: a (play, account, day) fires once. Plays only move forward: a recompute of a day
    older than the latest day plays fired for (a backfill) fires nothing. `notify` None means
    "notify when `day` is recent" (not for history being recomputed).

    `accounts` (a queryset of account ids: an incremental run's re-scored accounts) limits the
    firing to them: each fires exactly as in a full run of the day (same detection, same day and
    cooldown blocks), and no other account fires.
    """
    report = FireReport(day=day)
    plays = Play.objects.filter(active=True).order_by("name")
    if play_ids is not None:
        plays = plays.filter(pk__in=play_ids)
    plays = list(plays)
    report.plays = len(plays)
    if not plays:
        return report
    latest = PlayFiring.objects.aggregate(d=Max("day"))["d"]
    if latest is not None and latest > day:
        report.backfill = True
        return report
    if notify is None:
        notify = day >= timezone.localdate() - timedelta(days=NOTIFY_MAX_AGE_DAYS)
    scan = triggers.DayScan(day, accounts=accounts, plays=plays)  # what the plays share, looked up once
    assignees = _Assignees()
    with transaction.atomic():
        for play in plays:
            try:
                hits = triggers.detect(play, day, scan=scan)
            except RuleError as exc:  # saved before a grammar change: skip the play, keep the publish
                log.warning("play %s skipped: its condition is invalid: %s", play.pk, exc)
                continue
            blocked = _blocked(play, day, list(hits)) if hits else set()
            new = {pk: facts for pk, facts in hits.items() if pk not in blocked}
            report.per_play[play.name] = len(new)
            if new:
                _fire(play, day, new, assignees, notify, report)
    return report


def _fire(
    play: Play, day: date, hits: dict[int, dict], assignees: _Assignees, notify: bool, report: FireReport
) -> None:
    described = describe_hits(play, day, hits)
    ids = sorted(described)
    now = timezone.now()
    due = day + timedelta(days=play.task_due_in_days)
    queued: list[int] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        tasks: dict[int, Task] = {}
        if play.creates_task:
            open_tasks = {t.account_id: t for t in Task.objects.open().filter(play=play, account_id__in=chunk)}
            created, updated = [], []
            for pk in chunk:
                d = described[pk]
                task = open_tasks.get(pk)
                if task is not None:
                    task.why, task.due_date, task.updated_at = d["why"], due, now
                    updated.append(task)
                else:
                    task = Task(
                        account_id=pk,
                        play=play,
                        title=wording.render_template(play.task_title, d["context"])[:300] or play.name,
                        body=wording.render_template(play.task_body, d["context"]),
                        why=d["why"],
                        due_date=due,
                        priority=play.task_priority,
                        assignee_id=assignees.resolve(play.task_assignee, d["account"]),
                    )
                    created.append(task)
                tasks[pk] = task
            Task.objects.bulk_create(created, batch_size=2000)
            Task.objects.bulk_update(updated, ["why", "due_date", "updated_at"], batch_size=2000)
            TaskEvent.objects.bulk_create(
                [TaskEvent(task=t, kind="opened", text=t.why[:300]) for t in created]
                + [TaskEvent(task=t, kind="refreshed", text=t.why[:300]) for t in updated],
                batch_size=2000,
            )
            report.tasks_opened += len(created)
            report.tasks_updated += len(updated)
        firings = [
            PlayFiring(
                play=play,
                account_id=pk,
                day=day,
                why=described[pk]["why"],
                facts=described[pk]["facts"],
                task=tasks.get(pk),
            )
            for pk in chunk
        ]
        PlayFiring.objects.bulk_create(firings, batch_size=2000)
        report.fired += len(firings)
        channels = [*play.notify, *(["webhook"] if play.webhook_url else [])]
        if notify and channels:
            users = User.objects.in_bulk(
                {t.assignee_id for t in tasks.values() if t.assignee_id}
                | {described[pk]["account"].owner_id for pk in chunk if described[pk]["account"].owner_id}
            )
            deliveries = []
            for firing in firings:
                d, task = described[firing.account_id], tasks.get(firing.account_id)
                assignee = users.get(task.assignee_id if task else d["account"].owner_id)
                for channel in dict.fromkeys(channels):
                    deliveries.append(
                        Delivery(
                            firing=firing,
                            channel=channel,
                            key=_delivery_key(firing.pk, channel),
                            payload=_payload(channel, play, firing, d, task, assignee),
                        )
                    )
            Delivery.objects.bulk_create(deliveries, batch_size=2000)
            queued.extend(dl.pk for dl in deliveries)
    if queued:
        report.deliveries += len(queued)
        transaction.on_commit(lambda: deliveries_enqueue(delivery_ids=queued))


# Deliveries handed to the workers per task: one broker message, one query to load them, one
# insert of their attempts and one update, and a kept-alive connection per receiver, instead of
# all of that per delivery.
DELIVERY_BATCH = 50


def deliveries_enqueue(*, delivery_ids: list[int]) -> int:
    """Hands deliveries to the workers, DELIVERY_BATCH per task; a broker that is down leaves them
    pending for the sweep. Returns the deliveries queued."""
    from plays.tasks import deliver_batch  # noqa: PLC0415 - plays.tasks imports this module

    sent = 0
    for start in range(0, len(delivery_ids), DELIVERY_BATCH):
        batch = list(delivery_ids[start : start + DELIVERY_BATCH])
        try:
            deliver_batch.delay(batch)
            sent += len(batch)
        except Exception:  # noqa: BLE001 - never fail the caller (a publish): the sweep re-queues pending ones
            log.exception("could not queue deliveries %s…; the sweep will retry them", batch[0])
    return sent


def _record(delivery: Delivery, attempt: notifications.Attempt, final: bool) -> None:
    """Applies one attempt's outcome to `delivery` (not saved)."""
    delivery.attempts += 1
    delivery.last_error = attempt.error
    if attempt.ok:
        delivery.status, delivery.delivered_at = Delivery.Status.DELIVERED, timezone.now()
    elif delivery.channel == "email" and not delivery.payload.get("to"):
        delivery.status = Delivery.Status.SKIPPED
    elif final or delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = Delivery.Status.FAILED


def _receiver(delivery: Delivery) -> tuple[str, str]:
    """Where a delivery goes (its channel and, for a webhook, the host): deliveries that share it
    share its failures too."""
    if delivery.channel == "webhook":
        url = urlsplit(str(delivery.payload.get("url", "")))
        return "webhook", f"{url.scheme}://{url.netloc}"
    return delivery.channel, ""


def deliveries_attempt(*, delivery_ids: list[int]) -> dict[int, str]:
    """The first attempt of a batch of deliveries, in a few statements for the whole batch.

    Returns {delivery id: status after it} for those attempted. When an attempt to a receiver
    fails, the batch's other deliveries to it are not attempted here (one receiver that never
    answers costs the batch one timeout, not one per delivery): they are left out of the answer,
    pending, for the caller to hand to `deliver` one by one, which retries with backoff.
    """
    deliveries = list(
        Delivery.objects.select_related("firing__play")
        .filter(pk__in=delivery_ids, status=Delivery.Status.PENDING)
        .order_by("pk")
    )
    failing: set[tuple[str, str]] = set()
    attempts, done = [], []
    for delivery in deliveries:
        receiver = _receiver(delivery)
        if receiver in failing:
            continue
        secret = delivery.firing.play.webhook_secret if delivery.channel == "webhook" else ""
        attempt = notifications.send(delivery.channel, dict(delivery.payload), key=delivery.key, secret=secret)
        attempts.append(
            DeliveryAttempt(
                delivery=delivery,
                ok=attempt.ok,
                status_code=attempt.status_code,
                latency_ms=attempt.latency_ms,
                error=attempt.error,
            )
        )
        _record(delivery, attempt, final=False)
        done.append(delivery)
        if delivery.status == Delivery.Status.PENDING:  # the receiver failed (a skipped email is no failure of it)
            failing.add(receiver)
    DeliveryAttempt.objects.bulk_create(attempts)
    Delivery.objects.bulk_update(done, ["attempts", "last_error", "status", "delivered_at"])
    return {d.pk: d.status for d in done}


def retry_delay(attempt: int) -> float:
    """Seconds before retry number `attempt` (1, 2, …): exponential backoff from PLAYS_RETRY_BACKOFF."""
    return settings.PLAYS_RETRY_BACKOFF * (2 ** (attempt - 1))


def delivery_attempt(*, delivery_id: int, final: bool = False) -> str:
    """One attempt of a pending delivery, logged as a DeliveryAttempt.

    Returns the delivery's status after it: 'delivered', 'skipped', 'failed' (given up: `final`
    or MAX_ATTEMPTS reached) or 'pending' (the caller retries later). A delivered or skipped
    delivery is not sent again (a duplicate task message is a no-op).
    """
    delivery = Delivery.objects.select_related("firing__play").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != Delivery.Status.PENDING:
        return delivery.status if delivery else "missing"
    secret = delivery.firing.play.webhook_secret if delivery.channel == "webhook" else ""
    attempt = notifications.send(delivery.channel, dict(delivery.payload), key=delivery.key, secret=secret)
    DeliveryAttempt.objects.create(
        delivery=delivery,
        ok=attempt.ok,
        status_code=attempt.status_code,
        latency_ms=attempt.latency_ms,
        error=attempt.error,
    )
    _record(delivery, attempt, final)
    delivery.save(update_fields=["attempts", "last_error", "status", "delivered_at"])
    return delivery.status


def delivery_resend(*, delivery: Delivery) -> None:
    """Queues a delivery again (the admin's "resend"): same payload and idempotency key."""
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.PENDING, attempts=0, delivered_at=None)
    transaction.on_commit(lambda: deliveries_enqueue(delivery_ids=[delivery.pk]))


def deliveries_sweep(*, older_than_minutes: int = 15) -> int:
    """Re-queues pending deliveries nobody picked up (the broker was down when they were queued)."""
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    ids = list(
        Delivery.objects.filter(status=Delivery.Status.PENDING, created_at__lt=cutoff, attempts=0).values_list(
            "pk", flat=True
        )[:10000]
    )
    return deliveries_enqueue(delivery_ids=ids) if ids else 0


# Tasks ---------------------------------------------------------------------------------------


def _event(task: Task, kind: str, actor, text: str = "") -> None:
    TaskEvent.objects.create(
        task=task, kind=kind, actor=actor if getattr(actor, "is_authenticated", False) else None, text=text[:300]
    )


@transaction.atomic
def task_create(
    *,
    account: Account,
    title: str,
    actor,
    body: str = "",
    assignee=None,
    due_date: date | None = None,
    priority: str = "normal",
) -> Task:
    """A manual task (no play)."""
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": "a task needs a title"})
    task = Task.objects.create(
        account=account,
        title=title[:300],
        body=body,
        assignee=assignee,
        due_date=due_date,
        priority=priority,
        created_by=actor,
        why="",
    )
    _event(task, "opened", actor, f"manual task by {actor}")
    return task


@transaction.atomic
def task_set_status(*, task: Task, status: str, actor) -> Task:
    """Done, dismissed (closed, with who and when) or open again."""
    if status not in Task.Status.values:
        raise ValidationError({"status": f"'{status}' is not one of {', '.join(Task.Status.values)}"})
    if status == task.status:
        return task
    task.status = status
    if status == Task.Status.OPEN:
        task.closed_by, task.closed_at = None, None
    else:
        task.closed_by, task.closed_at = actor, timezone.now()
    try:
        with transaction.atomic():
            task.save(update_fields=["status", "closed_by", "closed_at", "updated_at"])
    except IntegrityError:
        raise ValidationError(
            {"status": "the play has opened another task for this account since; reopen that one"}
        ) from None
    _event(task, {"open": "reopened"}.get(status, status), actor)
    return task


@transaction.atomic
def task_reassign(*, task: Task, assignee, actor) -> Task:
    task.assignee = assignee
    task.save(update_fields=["assignee", "updated_at"])
    _event(task, "reassigned", actor, f"to {assignee}" if assignee else "unassigned")
    return task


@transaction.atomic
def task_snooze(*, task: Task, until: date | None, actor) -> Task:
    task.snoozed_until = until
    task.save(update_fields=["snoozed_until", "updated_at"])
    _event(task, "snoozed", actor, f"until {until}" if until else "unsnoozed")
    return task


@transaction.atomic
def task_set_due(*, task: Task, due_date: date | None, actor) -> Task:
    task.due_date = due_date
    task.save(update_fields=["due_date", "updated_at"])
    _event(task, "due", actor, f"due {due_date}" if due_date else "no due date")
    return task


def note_create(*, account: Account, kind: str, text: str, author, day: date | None = None) -> TimelineNote:
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "write what happened"})
    if kind not in TimelineNote.Kind.values:
        raise ValidationError({"kind": f"'{kind}' is not one of {', '.join(TimelineNote.Kind.values)}"})
    return TimelineNote.objects.create(
        account=account, kind=kind, text=text, author=author, date=day or timezone.localdate()
    )


# The daily digest -------------------------------------------------------------------------------


def digest_send(*, day: date) -> int:
    """One email per CSM with something to say: tasks opened for them since yesterday, their
    overdue tasks, and their accounts whose band dropped in the last 7 days. Returns emails sent."""
    sent = 0
    for user, digest in digest_for(day):
        lines = [f"Your CS Portal digest for {day.isoformat()}", ""]
        for title, rows in (
            ("New tasks", digest["new"]),
            ("Overdue tasks", digest["overdue"]),
            ("Band drops (7 days)", digest["drops"]),
        ):
            if rows:
                lines += [f"{title} ({len(rows)}):", *[f"  - {r}" for r in rows], ""]
        lines.append(_site_url("/tasks/?owner=me"))
        send_mail(
            f"[CS Portal] {len(digest['new'])} new, {len(digest['overdue'])} overdue",
            "\n".join(lines),
            settings.DEFAULT_FROM_EMAIL,
            [user.email],
        )
        sent += 1
    return sent
