"""Account pages: the filterable list and one account's page."""

from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts import charts, selectors
from accounts.export import export_csv_lines, latest_as_of
from accounts.forms import AccountFilterForm
from accounts.models import Account

PAGE_SIZE = 50


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
    query = request.GET.copy()
    query.pop("page", None)
    template = "accounts/partials/account_table.html" if request.htmx else "accounts/account_list.html"
    return render(request, template, {"form": form, "page": page, "query": query.urlencode()})


@require_GET
def account_export(request):
    """The SPEC §4.6 CSV of the accounts the list's filters select, as of the latest results."""
    _, accounts = _filtered_accounts(request)
    return csv_download(export_csv_lines(accounts, latest_as_of() or timezone.localdate()), "accounts.csv")


def csv_download(lines, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def account_detail(request, pk: int):
    try:
        account = selectors.account_detail(pk)
    except Account.DoesNotExist:
        raise Http404("No such account") from None
    usage = selectors.usage_by_feature(account)
    health = selectors.latest_health(account)
    context = {
        "account": account,
        "use_cases": selectors.account_use_cases(account),
        "arr_history": selectors.arr_history(account),
        "usage_figure": charts.usage_by_feature_figure(usage),
        "usage_rows": sum(len(s["dates"]) for s in usage["series"].values()),
        "health": health,
        "measures": _measure_rows(health),
    }
    return render(request, "accounts/account_detail.html", context)


def _measure_rows(health) -> list[dict]:
    """Measures with their labels and direction, most points lost first."""
    from health.metrics_catalog import METRICS

    if health is None:
        return []
    rows = []
    for m in health.measures:
        info = METRICS.get(m["metric"])
        rows.append({**m, "label": info.label if info else m["metric"], "meaning": info.meaning if info else ""})
    return sorted(rows, key=lambda r: -(r["points_lost"] or 0))
