"""Account pages: the filterable list and one account's page."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts import charts, selectors, services
from accounts.forms import StatedDriverForm
from accounts.models import Account, Feature
from core.paginators import PAGE_SIZE
from dashboards import account_list as account_list_selectors
from dashboards import account_selectors
from dashboards.cross_pollination import account_suggestions
from dashboards.exports import csv_download
from dashboards.forms import AccountListForm
from health import what_if
from health.explain import score_change
from health.metrics_catalog import METRICS
from health.selectors import Freshness, freshness_of, latest_usage_date, results_day
from health.units import format_in_sentence, format_metric
from health.windows import complete_from, is_partial, scorecard_window
from people import roles
from plays import views as plays_views
from segments.models import TouchModel


def _list_query(request) -> QueryDict:
    """The list's query with its defaults made explicit: a CSM's own accounts when no owner was
    chosen (an explicit empty owner means all owners), active accounts when no status was."""
    query = request.GET.copy()
    query.pop("page", None)
    if (
        "owner" not in query
        and roles.CSM in roles.role_names(request.user)
        and not roles.is_leader_or_admin(request.user)
    ):
        query["owner"] = str(request.user.pk)
    return query


@require_GET
def account_list(request):
    day = results_day()
    query = _list_query(request)
    form = AccountListForm(query, user=request.user)
    filters = form.filters()
    counts = account_list_selectors.status_counts(filters, day)
    paginator = Paginator(account_list_selectors.account_rows(filters, day), PAGE_SIZE)
    paginator.count = counts.get(filters.status, counts["total"])  # spares the paginator its COUNT(*)
    page = paginator.get_page(request.GET.get("page"))
    fresh = freshness_of([a.pk for a in page.object_list], day)
    for account in page.object_list:
        account.days_to_renewal = (account.renewal_date - day).days if account.renewal_date and day else None
        account.is_churned_now = account.churned_on is not None and day is not None and account.churned_on <= day
        account.freshness = fresh.get(account.pk)
    unsorted = query.copy()
    unsorted.pop("sort", None)
    context = {
        "form": form,
        "page": page,
        "as_of": day,
        "filters": filters,
        "counts": counts,
        "query": query.urlencode(),
        "unsorted_query": unsorted.urlencode(),
        "columns": _sort_columns(filters.sort),
        "error": form.error_text(),
    }
    template = "accounts/partials/account_table.html" if request.htmx else "accounts/account_list.html"
    return render(request, template, context)


def _sort_columns(current: str) -> dict:
    """Per sortable column: the sort its header link asks for (the other direction when it is the
    current one; numbers start largest first) and its aria-sort state."""
    columns = {}
    for key in account_list_selectors.SORTS:
        first = key if key in ("name", "renewal") else f"-{key}"
        if current.lstrip("-") == key:
            columns[key] = {
                "next": key if current.startswith("-") else f"-{key}",
                "state": "descending" if current.startswith("-") else "ascending",
            }
        else:
            columns[key] = {"next": first, "state": ""}
    return columns


@require_GET
def account_export(request):
    """The list's CSV, as of the latest results: the SPEC §4.6 columns of the accounts its filters
    select, then owner_email, renewal_date, days_to_renewal and status (see account_list.py)."""
    day = results_day() or timezone.localdate()
    form = AccountListForm(_list_query(request), user=request.user)
    accounts = account_list_selectors.account_rows(form.filters(), day)
    return csv_download(account_list_selectors.list_csv_lines(accounts, day), "accounts.csv")


@require_GET
def account_detail(request, pk: int):
    return _render_account(request, pk, StatedDriverForm())


@require_POST
def record_driver(request, pk: int):
    """Record a stated driver (CSMs and admins); an invalid form re-renders the page with its errors."""
    if not request.user.has_perm("accounts.add_stateddriver"):
        raise PermissionDenied("Recording stated drivers is for CSMs and CS Admins.")
    account = _get_account(pk)
    form = StatedDriverForm(request.POST)
    if not form.is_valid():
        return _render_account(request, pk, form, status=400)
    services.stated_driver_record(
        account=account, feature=form.cleaned_data["feature"], note=form.cleaned_data["note"], recorded_by=request.user
    )
    messages.success(request, f"Recorded “{form.cleaned_data['feature']}” as a stated driver.")
    return redirect(reverse("accounts:detail", args=[pk]) + "#say-vs-do")


def _get_account(pk: int) -> Account:
    try:
        return selectors.account_detail(pk)
    except Account.DoesNotExist:
        raise Http404("No such account") from None


def _render_account(request, pk: int, driver_form: StatedDriverForm, status: int = 200):
    account = _get_account(pk)
    health = account_selectors.latest_health(account)
    day = health.as_of if health else timezone.localdate()
    churned = account.is_churned(day)
    usage = selectors.usage_by_feature(account, as_of=day)
    trend = account_selectors.health_trend(account, day)
    heatmap = selectors.usage_heatmap(account, day)
    nps = selectors.nps_history(account)
    metrics = account_selectors.latest_metrics(account, health.as_of if health else None)
    days_to_renewal = (account.renewal_date - day).days if account.renewal_date else None
    measures, plan = _measure_rows(health)
    window = scorecard_window(m["metric"] for m in (health.measures if health else []))
    first_usage = account_selectors.first_usage_day(account)
    for point in trend:
        point["partial"] = point["score"] is not None and is_partial(point["as_of"], first_usage, window)
    partial_until = complete_from(first_usage, window) if any(t["partial"] for t in trend) else None
    touch = account_selectors.touch_model_of(health)
    context = {
        "account": account,
        "as_of": day,
        "churned": churned,
        "days_to_renewal": None if churned else days_to_renewal,
        "renewal_overdue": not churned and days_to_renewal is not None and days_to_renewal < 0,
        "days_since_activity": metrics.days_since_last_activity if metrics else None,
        "change_30d": health.score - health.score_30d_ago
        if health and health.score is not None and health.score_30d_ago is not None
        else None,
        "use_cases": selectors.account_use_cases(account),
        "arr_history": selectors.arr_history(account),
        "usage_figure": charts.usage_by_feature_figure(usage, feature_colours()),
        "usage_rows": sum(len(s["dates"]) for s in usage["series"].values()),
        "health": health,
        "touch_model": TouchModel(touch).label if touch in TouchModel.values else "",
        "measures": measures,
        "plan": plan,
        # The row read above carries when it was computed; the latest usage date is one more query.
        "freshness": Freshness(health.computed_at, health.inputs_through, latest_usage_date(account.pk, day))
        if health
        else None,
        "trend": trend,
        "partial_until": partial_until,
        "first_usage": first_usage,
        "trend_figure": charts.score_trend_figure(trend, health.scorecard if health else None, partial_until)
        if trend
        else None,
        "changes": _score_changes(account, health, lambda m: METRICS[m].label if m in METRICS else m),
        "journey": account_selectors.journey_steps(account),
        "segments": account_selectors.segment_history(account),
        "drivers": selectors.drivers_with_usage(account, day),
        "driver_form": driver_form,
        "can_record_driver": request.user.has_perm("accounts.add_stateddriver") and not churned,
        "suggestions": [] if churned else account_suggestions(account, health.as_of if health else None),
        "heatmap": heatmap,
        "heatmap_figure": charts.usage_heatmap_figure(heatmap) if heatmap["features"] else None,
        "nps": nps,
        "nps_figure": charts.nps_figure(nps) if nps else None,
        **plays_views.account_context(request, account),
    }
    return render(request, "accounts/account_detail.html", context, status=status)


def _score_changes(account, health, label) -> list:
    """Why the score moved since 7 and 30 days before the latest result (one query for both days)."""
    if health is None or health.score is None:
        return []
    days = {n: health.as_of - timedelta(days=n) for n in (7, 30)}
    before = account_selectors.health_on(account, list(days.values()))
    names = {h.scorecard_id: h.scorecard.name for h in [health, *before.values()] if h.scorecard_id}
    return [
        score_change(
            health,
            before.get(d),
            days=n,
            then_day=d,
            label=label,
            fmt=format_in_sentence,
            scorecard_name=lambda i: names.get(i, "no scorecard"),
        )
        for n, d in days.items()
    ]


def _measure_rows(health) -> tuple[list[dict], object]:
    """Measures with labels, formatted values and what would move each, most points lost first; and
    the smallest combined plan to reach healthy (None when healthy or not scored)."""
    if health is None or not health.measures:
        return [], None
    scorecard = health.scorecard
    definitions = account_selectors.scorecard_definitions(health.scorecard_id)
    moves, plan = what_if.moves(
        health.measures,
        definitions,
        score=health.score,
        healthy_at=scorecard.healthy_at if scorecard else 70,
        at_risk_below=scorecard.at_risk_below if scorecard else 40,
    )
    rows = []
    for m, move in zip(health.measures, moves, strict=True):
        info = METRICS.get(m["metric"])
        rows.append(
            {
                **m,
                "label": info.label if info else m["metric"],
                "meaning": info.meaning if info else "",
                "value_text": format_metric(m["metric"], m.get("value")),
                "to_next": None if move.to_next is None else format_metric(m["metric"], move.to_next),
                "to_healthy": None if move.to_healthy is None else format_metric(m["metric"], move.to_healthy),
                "why_not": move.why_not,
            }
        )
    if plan is not None:
        for step in plan.steps:
            info = METRICS.get(step["metric"])
            step["text"] = f"{info.label if info else step['metric']} to {format_metric(step['metric'], step['value'])}"
    return sorted(rows, key=lambda r: -(r["points_lost"] or 0)), plan


def feature_colours() -> dict[str, str]:
    """A colour per feature name, the same on every account page (features in key order)."""
    return charts.colours_for(list(Feature.objects.order_by("key").values_list("name", flat=True)))
