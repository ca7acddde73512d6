"""The admin's list of daily usage: read-only, filtered and paged, never counting every row.

Django 5.2's admin cannot register a model with a composite primary key, and UsageDaily's key is
(account, date, feature); so this plain view, mounted at the changelist's old address, takes the
place of its ModelAdmin. Rows are written only by the imports (SPEC §4.2), never edited here.
"""

from datetime import date

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.template.response import TemplateResponse

from accounts.models import Account, Feature, UsageDaily
from core.paginators import CappedCountPaginator

PAGE_PARAM = "p"  # the changelists' page parameter


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None


def usage_rows(*, q: str = "", feature: str = "", since: date | None = None, until: date | None = None):
    """Usage rows for the admin list, newest account and day first (the primary key's order, backwards)."""
    rows = UsageDaily.objects.select_related("account", "feature").order_by("-account_id", "-date", "-feature_id")
    if q:
        rows = rows.filter(account__in=Account.objects.filter(Q(name__icontains=q) | Q(external_id__iexact=q)))
    if feature:
        rows = rows.filter(feature__key=feature)
    if since:
        rows = rows.filter(date__gte=since)
    if until:
        rows = rows.filter(date__lte=until)
    return rows


def usage_list_view(request):
    """GET /admin/accounts/usagedaily/?q=&feature=&since=&until=&p= — staff with the view permission."""
    if not request.user.has_perm("accounts.view_usagedaily"):
        raise PermissionDenied
    q = request.GET.get("q", "").strip()
    feature = request.GET.get("feature", "").strip()
    since, until = _day(request.GET.get("since", "")), _day(request.GET.get("until", ""))
    paginator = CappedCountPaginator(
        usage_rows(q=q, feature=feature, since=since, until=until), admin.ModelAdmin.list_per_page
    )
    page = paginator.get_page(request.GET.get(PAGE_PARAM))
    query = request.GET.copy()
    query.pop(PAGE_PARAM, None)
    context = {
        **admin.site.each_context(request),
        "title": "Daily usage",
        "opts": UsageDaily._meta,
        "page": page,
        "paginator": paginator,
        "page_range": paginator.get_elided_page_range(page.number) if paginator.num_pages > 1 else [],
        "query": query.urlencode(),
        "features": Feature.objects.order_by("key").values_list("key", "name"),
        "filters": {"q": q, "feature": feature, "since": since, "until": until},
    }
    return TemplateResponse(request, "admin/accounts/usagedaily/change_list.html", context)
