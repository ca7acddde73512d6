"""Account pages: the filterable list and one account's page."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts import charts, selectors, services
from accounts.forms import AccountFilterForm, StatedDriverForm
from accounts.models import Account
from core.paginators import PAGE_SIZE
from dashboards import account_selectors
from dashboards.cross_pollination import account_suggestions
from dashboards.exports import csv_download, export_csv_lines
from health.explain import score_change
from health.metrics_catalog import METRICS
from health.selectors import Freshness, freshness_of, latest_usage_date, results_day
from segments.models import TouchModel


def _filtered_accounts(request):
    form = AccountFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    accounts = selectors.account_list(
        vertical=filters.get("vertical") or "",
        owner=filters.get("owner") or "",
        q=filters.get("q") or "",
    )
    return form, accounts


@require_GET
def account_list(request):
    form, accounts = _filtered_accounts(request)
    page = Paginator(accounts, PAGE_SIZE).get_page(request.GET.get("page"))
    fresh = freshness_of([a.pk for a in page.object_list], results_day())
    for a in page.object_list:
        a.freshness = fresh.get(a.pk)
    query = request.GET.copy()
    query.pop("page", None)
    template = "accounts/partials/account_table.html" if request.htmx else "accounts/account_list.html"
    return render(request, template, {"form": form, "page": page, "query": query.urlencode()})


@require_GET
def account_export(request):
    """The SPEC §4.6 CSV of the accounts the list's filters select, as of the latest results."""
    _, accounts = _filtered_accounts(request)
    return csv_download(export_csv_lines(accounts, results_day() or timezone.localdate()), "accounts.csv")


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
    usage = selectors.usage_by_feature(account, as_of=day)
    trend = account_selectors.health_trend(account, day)
    heatmap = selectors.usage_heatmap(account, day)
    nps = selectors.nps_history(account)
    context = {
        "account": account,
        "as_of": day,
        "days_to_renewal": (account.renewal_date - day).days if account.renewal_date else None,
        "use_cases": selectors.account_use_cases(account),
        "arr_history": selectors.arr_history(account),
        "usage_figure": charts.usage_by_feature_figure(usage),
        "usage_rows": sum(len(s["dates"]) for s in usage["series"].values()),
        "health": health,
        # The row read above carries when it was computed; the latest usage date is one more query.
        "freshness": Freshness(health.computed_at, health.inputs_through, latest_usage_date(account.pk, day)) if health else None,
        "touch_model": TouchModel(health.touch_model).label if health and health.touch_model in TouchModel.values else "",
        "measures": _measure_rows(health),
        "trend": trend,
        "trend_figure": charts.score_trend_figure(trend, health.scorecard if health else None) if trend else None,
        "changes": _score_changes(account, health, lambda m: METRICS[m].label if m in METRICS else m),
        "journey": account_selectors.journey_steps(account),
        "segments": account_selectors.segment_history(account),
        "drivers": selectors.drivers_with_usage(account, day),
        "driver_form": driver_form,
        "can_record_driver": request.user.has_perm("accounts.add_stateddriver"),
        "suggestions": account_suggestions(account, health.as_of if health else None),
        "heatmap": heatmap,
        "heatmap_figure": charts.usage_heatmap_figure(heatmap) if heatmap["features"] else None,
        "nps": nps,
        "nps_figure": charts.nps_figure(nps) if nps else None,
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
            health, before.get(d), days=n, then_day=d, label=label, scorecard_name=lambda i: names.get(i, "no scorecard")
        )
        for n, d in days.items()
    ]


def _measure_rows(health) -> list[dict]:
    """Measures with their labels and direction, most points lost first."""
    if health is None:
        return []
    rows = []
    for m in health.measures:
        info = METRICS.get(m["metric"])
        rows.append({**m, "label": info.label if info else m["metric"], "meaning": info.meaning if info else ""})
    return sorted(rows, key=lambda r: -(r["points_lost"] or 0))
