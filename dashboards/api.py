"""The read side of the API: accounts with their latest health and drivers; the revenue report and
a vertical's summary, both read from the day's VerticalDay rollup (selectors.revenue_overview).

Account writes go through accounts.api_ingest (the validation of import_accounts)."""

from datetime import timedelta

import django_filters.rest_framework as filters
from django.db.models import Prefetch
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.api_ingest import account_write
from accounts.models import Account, AccountUseCase, Feature, StatedDriver
from dashboards import selectors as dashboard_selectors
from health.models import Band, HealthScore
from health.selectors import results_day
from people.api_auth import IsAdminOrReadOnly, IsLeaderOrAdmin, IsTeamMember
from segments.selectors import memberships_on, with_touch_model


class DriverSerializer(serializers.ModelSerializer):
    feature = serializers.SlugRelatedField(slug_field="key", queryset=Feature.objects.all())
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True, default=None, allow_null=True)
    events_90d = serializers.IntegerField(read_only=True, default=0)
    used_90d = serializers.SerializerMethodField()

    class Meta:
        model = StatedDriver
        fields = ["id", "feature", "note", "recorded_by", "recorded_at", "events_90d", "used_90d"]

    def get_used_90d(self, driver) -> bool:
        """Say vs do: false when the customer names a feature it has not used in 90 days."""
        return bool(getattr(driver, "events_90d", 0))


class HealthSerializer(serializers.ModelSerializer):
    scorecard = serializers.CharField(source="scorecard.name", default=None, allow_null=True)
    tier = serializers.CharField(source="tier.name", default=None, allow_null=True)
    touch_model = serializers.CharField(read_only=True, default="")  # annotated: segments.selectors.with_touch_model

    class Meta:
        model = HealthScore
        fields = ["as_of", "score", "band", "scorecard", "tier", "touch_model"]


class HealthDetailSerializer(HealthSerializer):
    class Meta(HealthSerializer.Meta):
        fields = [*HealthSerializer.Meta.fields, "measures"]


class AccountSerializer(serializers.ModelSerializer):
    vertical = serializers.CharField(source="vertical.name")
    primary_use_case = serializers.CharField(source="primary_use_case.name", default=None, allow_null=True)
    use_cases = serializers.SerializerMethodField()
    owner = serializers.EmailField(source="owner.email", default=None, allow_null=True)
    health = serializers.SerializerMethodField()

    class Meta:
        model = Account
        fields = [
            "id",
            "external_id",
            "name",
            "vertical",
            "primary_use_case",
            "use_cases",
            "arr",
            "owner",
            "employees",
            "persona",
            "seats",
            "start_date",
            "renewal_date",
            "churned_on",
            "health",
        ]

    def get_use_cases(self, account) -> list[str]:
        return sorted(u.name for u in account.use_cases.all())

    health_serializer = HealthSerializer

    @extend_schema_field(HealthSerializer(allow_null=True))
    def get_health(self, account):
        latest = getattr(account, "latest_health", None)
        return self.health_serializer(latest[0]).data if latest else None


class AccountDetailSerializer(AccountSerializer):
    health_serializer = HealthDetailSerializer

    @extend_schema_field(HealthDetailSerializer(allow_null=True))
    def get_health(self, account):
        return super().get_health(account)


class AccountWriteSerializer(serializers.Serializer):
    """The columns of the accounts CSV (SPEC §4.1); `use_cases` is ';'-separated, primary first."""

    external_id = serializers.CharField()
    name = serializers.CharField()
    vertical = serializers.CharField()
    use_cases = serializers.CharField(required=False, allow_blank=True)
    arr = serializers.CharField()
    owner_email = serializers.CharField(required=False, allow_blank=True)
    employees = serializers.IntegerField(required=False, allow_null=True)
    persona = serializers.CharField(required=False, allow_blank=True)
    seats = serializers.IntegerField(required=False, allow_null=True)
    start_date = serializers.DateField(required=False, allow_null=True)
    renewal_date = serializers.DateField(required=False, allow_null=True)
    churned_on = serializers.DateField(required=False, allow_null=True)


class AccountFilter(filters.FilterSet):
    vertical = filters.CharFilter(field_name="vertical__name", lookup_expr="iexact")
    use_case = filters.CharFilter(method="filter_use_case")
    segment = filters.CharFilter(method="filter_segment", help_text="segment slug: members on the latest day")
    band = filters.ChoiceFilter(choices=Band.choices, method="filter_latest", help_text="health band on the latest day")
    tier = filters.CharFilter(method="filter_latest", help_text="tier name on the latest day")
    owner = filters.CharFilter(field_name="owner__email", lookup_expr="iexact")
    score_min = filters.NumberFilter(method="filter_latest")
    score_max = filters.NumberFilter(method="filter_latest")
    renewal_within_days = filters.NumberFilter(method="filter_renewal", help_text="renews in the next N days")

    class Meta:
        model = Account
        fields = [
            "vertical",
            "use_case",
            "segment",
            "band",
            "tier",
            "owner",
            "score_min",
            "score_max",
            "renewal_within_days",
        ]

    def filter_use_case(self, queryset, name, value):
        return queryset.filter(pk__in=AccountUseCase.objects.filter(use_case__name__iexact=value).values("account_id"))

    def filter_segment(self, queryset, name, value):
        day = results_day()
        if day is None:
            return queryset.none()
        return queryset.filter(pk__in=memberships_on(day).filter(segment__slug=value).values("account_id"))

    def filter_latest(self, queryset, name, value):
        if name in ("score_min", "score_max") and not 0 <= value <= 100:
            raise ValidationError({name: "a score is between 0 and 100"})
        day = results_day()
        lookup = {
            "band": {"band": value},
            "tier": {"tier__name__iexact": value},
            "score_min": {"score__gte": value},
            "score_max": {"score__lte": value},
        }[name]
        return queryset.filter(pk__in=HealthScore.objects.filter(as_of=day, **lookup).values("account_id"))

    def filter_renewal(self, queryset, name, value):
        if not 0 <= value <= 3650:
            raise ValidationError({name: "a number of days between 0 and 3650"})
        today = timezone.localdate()
        return queryset.filter(renewal_date__gte=today, renewal_date__lte=today + timedelta(days=int(value)))


class AccountViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Accounts with their latest health. Create, update (CS Admins) and `POST accounts/bulk/` all
    go through the validation of import_accounts."""

    permission_classes = [IsAdminOrReadOnly]

    serializer_class = AccountSerializer
    filterset_class = AccountFilter
    search_fields = ["name", "external_id"]
    ordering_fields = ["name", "arr", "renewal_date", "external_id"]
    ordering = ["name", "id"]

    queryset = Account.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no database needed
            return Account.objects.none()
        day = results_day()
        latest = with_touch_model(HealthScore.objects.filter(as_of=day).select_related("scorecard", "tier"))
        return (
            Account.objects.select_related("vertical", "primary_use_case", "owner")
            .prefetch_related("use_cases", Prefetch("health_scores", queryset=latest, to_attr="latest_health"))
            .order_by("name", "id")
        )

    def get_serializer_class(self):
        return AccountDetailSerializer if self.action == "retrieve" else AccountSerializer

    @extend_schema(request=AccountWriteSerializer, responses={201: AccountDetailSerializer})
    def create(self, request, *args, **kwargs):
        response = account_write(request.data)
        if response.status_code != 201:
            return response
        account = self.get_queryset().get(external_id=str(request.data["external_id"]).strip())
        return Response(AccountDetailSerializer(account).data, status=201)

    @extend_schema(request=AccountWriteSerializer, responses={200: AccountDetailSerializer})
    def update(self, request, *args, **kwargs):
        account = self.get_object()
        response = account_write(request.data, account)
        if response.status_code != 201:
            return response
        return Response(AccountDetailSerializer(self.get_queryset().get(pk=account.pk)).data)

    def filter_queryset(self, queryset):
        # The list's filters select accounts; they don't hide one account's own pages.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    @extend_schema(methods=["GET"], responses=DriverSerializer(many=True))
    @extend_schema(methods=["POST"], request=DriverSerializer, responses={201: DriverSerializer})
    @action(detail=True, methods=["get", "post"], permission_classes=[IsTeamMember])
    def drivers(self, request, pk=None):
        """Stated success drivers (say) next to the feature's events in the 90 days up to the latest
        results (do).

        POST records one (CSMs and admins)."""
        account = self.get_object()
        if request.method == "POST":
            if not request.user.has_perm("accounts.add_stateddriver"):
                raise PermissionDenied("Recording stated drivers is for CSMs and CS Admins.")
            serializer = DriverSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            # The service, as the page does: it also marks the account for the incremental run.
            recorded = services.stated_driver_record(
                account=account,
                feature=serializer.validated_data["feature"],
                note=serializer.validated_data.get("note", ""),
                recorded_by=request.user,
            )
            driver = selectors.drivers_with_usage(account, results_day()).get(pk=recorded.pk)
            return Response(DriverSerializer(driver).data, status=201)
        page = self.paginate_queryset(selectors.drivers_with_usage(account, results_day()))
        return self.get_paginated_response(DriverSerializer(page, many=True).data)

    @extend_schema(responses=HealthDetailSerializer(many=True))
    @action(detail=True, methods=["get"])
    def health(self, request, pk=None):
        """The account's daily health, newest first."""
        account = self.get_object()
        history = with_touch_model(HealthScore.objects.filter(account=account).select_related("scorecard", "tier"))
        history = history.order_by("-as_of")
        page = self.paginate_queryset(history)
        return self.get_paginated_response(HealthDetailSerializer(page, many=True).data)


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
        row = dashboard_selectors.vertical_report(slug, results_day())
        if row is None:
            raise Http404("No such vertical")
        return Response(VerticalSummarySerializer(row).data)


class RevenueReportView(APIView):
    """Revenue by vertical on the latest day (CS Leaders and CS Admins)."""

    permission_classes = [IsLeaderOrAdmin]

    @extend_schema(responses=RevenueReportSerializer)
    def get(self, request):
        return Response(RevenueReportSerializer(dashboard_selectors.revenue_overview(results_day())).data)
