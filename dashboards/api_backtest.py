"""GET /api/v1/reports/backtest/: the backtest of SPEC §8 as JSON (CS Leaders and CS Admins)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import error_response
from dashboards.backtest import backtest
from dashboards.backtest_forms import BacktestForm
from people.api_auth import IsLeaderOrAdmin


class CanBacktest(IsLeaderOrAdmin):
    message = "The backtest is for CS Leaders and CS Admins."


def _rate(**kwargs):
    return serializers.FloatField(allow_null=True, **kwargs)


BAND = inline_serializer(
    "BacktestBand",
    {
        "observations": serializers.IntegerField(),
        "churned": serializers.IntegerField(help_text="observations that churned within the horizon"),
        "churn_rate": _rate(help_text="churned / observations, 4 decimals; null with no observation"),
        "arr": serializers.FloatField(help_text="sum of each observation's ARR on its date (a JSON number, cents)"),
        "arr_churned": serializers.FloatField(help_text="the same over the churned observations"),
    },
)
BANDS = inline_serializer("BacktestBands", {"healthy": BAND, "neutral": BAND, "at_risk": BAND})
FIGURES = {
    "auc": _rate(help_text="Mann–Whitney AUC (ties ½), 4 decimals; null without a churned or a retained observation"),
    "lift": _rate(
        help_text="at_risk churn rate ÷ healthy churn rate, from the exact rates, 4 decimals; null when the "
        "healthy rate is 0 or either band has no observation"
    ),
    "bands": BANDS,
}
REPORT = inline_serializer(
    "BacktestReport",
    {
        "horizon_days": serializers.IntegerField(),
        "observation_dates": serializers.ListField(child=serializers.DateField()),
        "scorecards": inline_serializer(
            "BacktestScorecard",
            {
                "scorecard": serializers.CharField(),
                "vertical": serializers.CharField(allow_null=True, help_text="the scorecard's vertical; null: any"),
                "use_case": serializers.CharField(allow_null=True, help_text="its use case; null: any"),
                **FIGURES,
            },
            many=True,
        ),
        "overall": inline_serializer(
            "BacktestOverall", FIGURES, allow_null=True, help_text="null with no observation date"
        ),
        "verticals": inline_serializer("BacktestVertical", {"vertical": serializers.CharField(), **FIGURES}, many=True),
        "compare": inline_serializer(
            "BacktestCompare",
            {
                "scorecard": serializers.CharField(),
                "by_vertical": inline_serializer(
                    "BacktestCompareVertical",
                    {"vertical": serializers.CharField(), "own_auc": _rate(), "compare_auc": _rate()},
                    many=True,
                ),
            },
            allow_null=True,
            help_text="null without the compare parameter",
        ),
        "error": serializers.CharField(
            required=False,
            help_text="present only when there is too little history: no observation date (then the lists are "
            "empty and overall is null) or no churned observation (AUC and lift are null)",
        ),
    },
)


class BacktestReportView(APIView):
    """Is the score predictive? Churn within the horizon by band, AUC and lift per scorecard, per vertical
    and overall; with `compare`, each vertical's AUC under one scorecard for everyone (SPEC §8)."""

    permission_classes = [CanBacktest]

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, description="first observation date (default: the first)"),
            OpenApiParameter("to", OpenApiTypes.DATE, description="last observation date (default: the last)"),
            OpenApiParameter("horizon", int, description="days in which a churn counts (default 90, > 0)"),
            OpenApiParameter("step", int, description="at least this many days between observation dates (default 30)"),
            OpenApiParameter("compare", str, description="scorecard name: re-score every observation with it"),
        ],
        responses=REPORT,
    )
    def get(self, request):
        form = BacktestForm({k: request.query_params.get(k, "") for k in ("from", "to", "horizon", "step", "compare")})
        if not form.is_valid():
            return error_response(form.error_list())
        return Response(backtest(form.params()))
