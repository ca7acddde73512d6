"""Segment pages: the list (rules shown read-only) and one segment's members."""

from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.export import export_csv_lines, latest_as_of
from accounts.views import csv_download
from segments.models import Segment
from segments.rules import describe_rule
from segments.selectors import memberships_on, segment_accounts


@require_GET
def segment_list(request):
    day = latest_as_of() or timezone.localdate()
    stats = {
        row["segment_id"]: row
        for row in memberships_on(day).values("segment_id").annotate(members=Count("id"), arr=Sum("account__arr"))
    }
    segments = list(Segment.objects.order_by("-priority", "name"))
    for segment in segments:
        segment.members = stats.get(segment.pk, {}).get("members", 0)
        segment.member_arr = stats.get(segment.pk, {}).get("arr") or 0
        segment.rule_text = describe_rule(segment.rule) if segment.rule else ""
    return render(request, "segments/segment_list.html", {"segments": segments, "as_of": day})


@require_GET
def segment_detail(request, slug: str):
    segment = get_object_or_404(Segment, slug=slug)
    day = latest_as_of() or timezone.localdate()
    stays = (
        memberships_on(day)
        .filter(segment=segment)
        .select_related("account__vertical", "account__owner")
        .order_by("-account__arr", "account__name")
    )
    page = Paginator(stays, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "segments/segment_detail.html",
        {"segment": segment, "page": page, "as_of": day, "rule_text": describe_rule(segment.rule) if segment.rule else ""},
    )


@require_GET
def segment_export(request, slug: str):
    segment = get_object_or_404(Segment, slug=slug)
    day = latest_as_of() or timezone.localdate()
    return csv_download(export_csv_lines(segment_accounts(segment, day), day), f"segment-{segment.slug}.csv")
