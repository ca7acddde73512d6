"""Scorecards, read-only, for every team member: what each one measures and when it calls an account healthy."""

from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from health.selectors import measure_in_words, scorecard_list


def _with_words(scorecard):
    scorecard.measure_words = [measure_in_words(m) for m in scorecard.measures.all()]
    return scorecard


@require_GET
def scorecards(request):
    return render(request, "health/scorecard_list.html", {"scorecards": [_with_words(sc) for sc in scorecard_list()]})


@require_GET
def scorecard_detail(request, pk: int):
    scorecard = _with_words(get_object_or_404(scorecard_list(), pk=pk))
    return render(request, "health/scorecard_detail.html", {"scorecard": scorecard})
