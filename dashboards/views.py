"""Dashboards: health by vertical for everyone, revenue by vertical for leaders and admins."""

import csv

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.export import latest_as_of
from dashboards import charts, selectors
from dashboards.forms import RiskFilterForm
from people import roles


@require_GET
def verticals(request):
    overview = selectors.revenue_overview(latest_as_of())
    return render(
        request,
        "dashboards/verticals.html",
        {"overview": overview, "mix_figure": charts.health_mix_figure(overview["verticals"])},
    )


@require_GET
def revenue(request):
    if not roles.is_leader_or_admin(request.user):
        raise PermissionDenied("Revenue is for CS Leaders and CS Admins.")
    overview = selectors.revenue_overview(latest_as_of())
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="revenue-by-vertical.csv"'
        writer = csv.writer(response)
        writer.writerow(["vertical", "accounts", "arr", "share_of_arr", "average_arr", "arr_at_risk"])
        for v in overview["verticals"]:
            writer.writerow([v["vertical"], v["accounts"], v["arr"], v["share_of_arr"], v["average_arr"], v["arr_at_risk"]])
        return response
    return render(
        request,
        "dashboards/revenue.html",
        {"overview": overview, "arr_figure": charts.arr_by_vertical_figure(overview["verticals"])},
    )


RISK_PAGE_SIZE = 50
RISK_CSV_COLUMNS = [
    "external_id", "name", "vertical", "owner", "arr", "health_band", "score", "score_30_days_before",
    "renewal_date", "days_to_renewal",
]  # fmt: skip


@require_GET
def risk(request):
    """At-risk and slipping accounts for every role: filters, paging (HTMX swaps the table) and CSV."""
    day = latest_as_of()
    form = RiskFilterForm(request.GET or None)
    filters = form.filters()
    accounts = selectors.risk_accounts(day, **filters) if day else None
    if request.GET.get("format") == "csv":
        return _risk_csv(accounts, day)
    summary = selectors.risk_summary(accounts) if accounts is not None else None
    paginator = Paginator(accounts if accounts is not None else [], RISK_PAGE_SIZE)
    # The summary already counted the rows: spare the paginator its own COUNT(*).
    paginator.count = summary["accounts"] if summary else 0
    page = paginator.get_page(form.cleaned_data.get("page") if form.is_bound else 1)
    for account in page.object_list:
        selectors.describe_risk_row(account, day)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    context = {
        "form": form,
        "as_of": day,
        "summary": summary,
        "page": page,
        "query": query.urlencode(),
        "error": form.error_text(),
        "slipping_points": selectors.SLIPPING_POINTS,
        "slipping_days": selectors.SLIPPING_DAYS,
    }
    template = "dashboards/partials/risk_table.html" if request.htmx else "dashboards/risk.html"
    return render(request, template, context)


class _Echo:
    def write(self, value):
        return value


def _risk_csv(accounts, day) -> StreamingHttpResponse:
    def lines():
        writer = csv.writer(_Echo(), lineterminator="\n")
        yield writer.writerow(RISK_CSV_COLUMNS)
        if accounts is None:
            return
        rows = accounts.values_list(
            "external_id", "name", "vertical__name", "owner__email", "arr", "band_now", "score_now", "score_then",
            "renewal_date",
        )  # fmt: skip
        for external_id, name, vertical, owner, arr, band, score, then, renewal in rows.iterator(chunk_size=2000):
            yield writer.writerow(
                [external_id, name, vertical, owner or "", f"{arr:.2f}", band or "", _blank(score), _blank(then),
                 renewal or "", _blank(selectors.days_until(day, renewal))]
            )  # fmt: skip

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="accounts-at-risk.csv"'
    return response


def _blank(value):
    return "" if value is None else value
