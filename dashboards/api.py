"""REST API of the dashboards: the revenue report and a vertical's summary, both read from the
day's VerticalDay rollup (dashboards.selectors.revenue_overview), as the pages are."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from dashboards import selectors
from health.selectors import results_day
from people.api_auth import IsLeaderOrAdmin, IsTeamMember


class VerticalSummarySerializer(serializers.Serializer):
    vertical = serializers.CharField()
    slug = serializers.CharField()
    accounts = serializers.IntegerField()
    arr = serializers.DecimalField(max_digits=16, decimal_places=2)
    share_of_arr = serializers.FloatField()
    average_arr = serializers.FloatField()
    arr_at_risk = serializers.DecimalField(max_digits=16, decimal_places=2)
    health_mix = serializers.DictField(child=serializers.IntegerField())


class RevenueReportSerializer(serializers.Serializer):
    as_of = serializers.DateField(allow_null=True)
    total_arr = serializers.DecimalField(max_digits=16, decimal_places=2)
    arr_at_risk = serializers.DecimalField(max_digits=16, decimal_places=2)
    verticals = VerticalSummarySerializer(many=True)


class VerticalSummaryView(APIView):
    """The vertical's revenue and health on the latest day: ARR, share, average, ARR at risk, health mix."""

    permission_classes = [IsTeamMember]

    @extend_schema(responses=VerticalSummarySerializer, operation_id="verticals_summary_retrieve")
    def get(self, request, slug: str):
        row = selectors.vertical_report(slug, results_day())
        if row is None:
            raise Http404("No such vertical")
        return Response(VerticalSummarySerializer(row).data)


class RevenueReportView(APIView):
    """Revenue by vertical on the latest day (CS Leaders and CS Admins)."""

    permission_classes = [IsLeaderOrAdmin]

    @extend_schema(responses=RevenueReportSerializer)
    def get(self, request):
        return Response(RevenueReportSerializer(selectors.revenue_overview(results_day())).data)
