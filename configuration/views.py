"""The tuning page: red/green per measure suggested from history (configuration.tuning) and applied
by an admin through config_apply (audited, revertible)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from configuration.services import ConfigInvalid
from configuration.tuning import suggest_thresholds, suggestion_apply
from dashboards.backtest import DEFAULT_HORIZON, DEFAULT_STEP
from dashboards.backtest_forms import BacktestForm
from dashboards.views.backtest import PARAMS, percent
from health.models import Scorecard
from people import roles


@require_http_methods(["GET", "POST"])
def tune_page(request, scorecard_id: int):
    """Suggest red/green per measure from history; an admin applies it through config_apply."""
    if not (roles.is_admin(request.user) and request.user.is_staff):
        raise PermissionDenied("Tuning a scorecard is for CS Admins.")
    scorecard = get_object_or_404(Scorecard.objects.prefetch_related("measures"), pk=scorecard_id)
    source = request.POST if request.method == "POST" else request.GET
    given = {k: source[k] for k in PARAMS if k in source and k != "compare"}
    form = BacktestForm({"horizon": str(DEFAULT_HORIZON), "step": str(DEFAULT_STEP), **given})
    if request.method == "POST" and form.is_valid():
        count = len(scorecard.measures.all())
        try:
            thresholds = [(float(request.POST[f"red_{i}"]), float(request.POST[f"green_{i}"])) for i in range(count)]
            lines = suggestion_apply(scorecard=scorecard, thresholds=thresholds, actor=request.user)
        except (KeyError, ValueError):
            messages.error(request, "The suggestion was incomplete: tune again.")
        except ConfigInvalid as exc:
            for error in exc.errors:
                messages.error(request, error)
        else:
            messages.success(
                request,
                f"Applied to '{scorecard.name}': {'; '.join(lines)}. It is in the change history, where it can be "
                f"reverted. Run `python manage.py recompute --history DAYS` so past days (and the next backtest) "
                f"are scored with the new thresholds.",
            )
            return redirect(reverse("admin:health_scorecard_change", args=[scorecard.pk]))
    suggestion = suggest_thresholds(scorecard=scorecard, params=form.params()) if form.is_valid() else None
    judged = []
    if suggestion and not suggestion.error:
        for label, figures in (("Today's thresholds", suggestion.today), ("Suggested", suggestion.suggested)):
            cells = [{**cell, "rate": percent(cell["churn_rate"])} for cell in figures["bands"].values()]
            judged.append((label, {**figures, "cells": cells}))
    context = {"scorecard": scorecard, "form": form, "suggestion": suggestion, "judged": judged}
    return render(request, "dashboards/backtest_tune.html", context)
