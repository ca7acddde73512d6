"""Segment pages: the list (rules shown read-only) and one segment's members."""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.paginators import PAGE_SIZE
from dashboards.account_list import with_member_health
from dashboards.exports import csv_download, export_csv_lines
from health.selectors import results_day
from segments.charts import members_over_time_figure, segment_flow_figure
from segments.models import Segment
from segments.rules import describe_rule
from segments.selectors import (
    membership_over_time,
    memberships_on,
    segment_accounts,
    segment_day_figures,
    segment_days_rolled_up,
    segment_stats,
)


@require_GET
def segment_list(request):
    day = results_day() or timezone.localdate()
    stats = segment_stats(day)
    segments = list(Segment.objects.order_by("-priority", "name"))
    for segment in segments:
        segment.members = stats.get(segment.pk, {}).get("members", 0)
        segment.member_arr = stats.get(segment.pk, {}).get("arr") or 0
        segment.rule_text = describe_rule(segment.rule) if segment.rule else ""
    timeline = membership_over_time(day)
    lines = [(s.name, timeline["segments"][s.pk]["members"]) for s in segments if s.pk in timeline["segments"]]
    return render(
        request,
        "segments/segment_list.html",
        {
            "segments": segments,
            "as_of": day,
            "weeks": timeline["weeks"],
            "lines": lines,
            "rolled_up": bool(stats) or segment_days_rolled_up(day),
            "members_figure": members_over_time_figure(timeline["weeks"], lines),
        },
    )


@require_GET
def segment_detail(request, slug: str):
    segment = get_object_or_404(Segment, slug=slug)
    day = results_day() or timezone.localdate()
    stays = (
        memberships_on(day)
        .filter(segment=segment)
        .select_related("account__vertical", "account__owner")
        .order_by("-account__arr", "account__name")
    )
    stays = with_member_health(stays, results_day())
    figures = segment_day_figures(segment, day)  # stored with the day's results, when there are some
    paginator = Paginator(stays, PAGE_SIZE)
    if figures is not None:
        paginator.count = figures["members"]  # spares the paginator its COUNT(*) over the stays
    page = paginator.get_page(request.GET.get("page"))
    timeline = membership_over_time(day, segment=segment)
    flow = timeline["segments"].get(segment.pk) or {
        k: [0] * len(timeline["weeks"]) for k in ("members", "entered", "left")
    }
    weekly = [
        {"week": w, "members": m, "entered": e, "left": lft}
        for w, m, e, lft in zip(timeline["weeks"], flow["members"], flow["entered"], flow["left"], strict=True)
    ]
    context = {
        "segment": segment,
        "page": page,
        "as_of": day,
        "rule_text": describe_rule(segment.rule) if segment.rule else "",
        "member_arr": figures["arr"] if figures is not None else None,  # None: the day is not rolled up
        "weekly": weekly[1:][::-1],
        "flow_figure": segment_flow_figure(timeline["weeks"][1:], {k: v[1:] for k, v in flow.items()}),
    }
    return render(request, "segments/segment_detail.html", context)


@require_GET
def segment_export(request, slug: str):
    segment = get_object_or_404(Segment, slug=slug)
    day = results_day() or timezone.localdate()
    return csv_download(export_csv_lines(segment_accounts(segment, day), day), f"segment-{segment.slug}.csv")
