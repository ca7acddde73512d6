"""Rules over the API: segments, scorecards, journeys and the whole configuration document.

Writes go through `config_apply` — the same validation and upsert as `apply_config` and the
admin — so a rule that `apply_config` would refuse can never be saved through the API either.
"""

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import PROTECT, RESTRICT, ProtectedError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Feature, Tier, UseCase, Vertical
from configuration import services
from configuration.audit import audit_record
from configuration.models import AuditEntry
from configuration.services import ConfigInvalid, config_apply, config_export, rule_label
from core.api.errors import error_response
from health.models import Scorecard
from health.selectors import results_day
from journeys.models import Journey
from people.api_auth import IsAdminOrReadOnly
from plays.models import Play
from segments.models import Segment
from segments.selectors import memberships_on


def _errors(exc: ConfigInvalid, prefix: str = "") -> list[dict]:
    """The document's problems as the API's {"path", "message"} list, paths relative to the item."""
    return [{"path": problem.under(prefix), "message": problem.message} for problem in exc.errors]


class DocumentItemViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """One kind of the configuration document as a REST collection (read: everyone; write: admins)."""

    permission_classes = [IsAdminOrReadOnly]
    kind = ""  # the document key: "segments", "scorecards", "journeys"
    as_dict = None  # model → its document form
    read_only_keys = ("id",)

    def serialize(self, obj) -> dict:
        return {"id": obj.pk, **type(self).as_dict(obj)}

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([self.serialize(o) for o in page])

    def retrieve(self, request, *args, **kwargs):
        return Response(self.serialize(self.get_object()))

    def _apply(self, item: dict, instance=None):
        if not isinstance(item, dict):
            return error_response([{"path": "", "message": "expected a JSON object"}])
        if instance is not None:
            current = type(self).as_dict(instance)
            item = {**current, **item}
            for key in self.identity:
                if item.get(key) != current.get(key):
                    return error_response(
                        [{"path": key, "message": f"{key} can't be changed here: create a new one and delete this one"}]
                    )
        try:
            config_apply(
                document={"version": 1, self.kind: [item]}, actor=self.request.user, source=AuditEntry.Source.API
            )
        except ConfigInvalid as exc:
            return error_response(_errors(exc, f"{self.kind}[0]."))
        obj = self.lookup_saved(item)
        return Response(self.serialize(obj), status=status.HTTP_200_OK if instance else status.HTTP_201_CREATED)

    def create(self, request, *args, **kwargs):
        return self._apply(request.data)

    def perform_destroy(self, instance):
        before = type(self).as_dict(instance)
        pk = instance.pk
        with transaction.atomic():
            instance.delete()
            audit_record(
                kind=self.kind,
                object_id=pk,
                name=rule_label(self.kind, before),
                before=before,
                after=None,
                actor=self.request.user,
                source=AuditEntry.Source.API,
            )

    def update(self, request, *args, **kwargs):
        """PUT replaces the whole object: every field must be given (PATCH changes some)."""
        instance = self.get_object()
        item = request.data
        if isinstance(item, dict):
            missing = [k for k in type(self).as_dict(instance) if k not in item and k not in self.read_only_keys]
            if missing:
                message = "required: PUT replaces the whole object (use PATCH to change some fields)"
                return error_response([{"path": key, "message": message} for key in missing])
        return self._apply(item, instance)

    def partial_update(self, request, *args, **kwargs):
        return self._apply(request.data, self.get_object())


class InUse(APIException):
    status_code = 409
    default_detail = "This object is still in use and cannot be deleted."
    default_code = "in_use"


class VerticalSerializer(serializers.ModelSerializer):
    class Meta:
        model = Vertical
        fields = ["id", "name", "slug", "description"]
        read_only_fields = ["slug"]


class UseCaseSerializer(serializers.ModelSerializer):
    class Meta:
        model = UseCase
        fields = ["id", "name", "slug", "description"]
        read_only_fields = ["slug"]


class FeatureSerializer(serializers.ModelSerializer):
    class Meta:
        model = Feature
        fields = ["id", "key", "name"]


class TierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tier
        fields = ["id", "name", "min_arr"]


class ReferenceViewSet(DocumentItemViewSet, mixins.UpdateModelMixin):
    """Verticals, use cases, features and tiers. Writes go through `config_apply` as one-item
    documents (the validation of apply_config: slugs, names, min_arr); responses keep the
    serializer's shape. A delete of an object still in use answers 409 and deletes nothing."""

    output_serializer = None
    read_only_keys = ("id", "slug")

    def serialize(self, obj) -> dict:
        return self.output_serializer(obj).data

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([self.serialize(o) for o in page])

    def _apply(self, item, instance=None):
        if isinstance(item, dict):
            item = {k: v for k, v in item.items() if k not in self.read_only_keys}
        return super()._apply(item, instance)

    def lookup_saved(self, item):
        """The object just written: found by its identity key, as config_apply upserts it."""
        key = self.identity[0]
        return self.queryset.model.objects.get(**{f"{key}__iexact": str(item[key]).strip()})

    def perform_destroy(self, instance):
        # First one small query per protecting relation (at most 3 rows, to name them): a feature
        # with millions of usage rows answers 409 at once, where Django's delete would load every
        # protected row into memory just to refuse.
        in_use = []
        for rel in instance._meta.related_objects:
            if rel.on_delete in (PROTECT, RESTRICT):
                examples = [str(o) for o in rel.related_model._base_manager.filter(**{rel.field.name: instance})[:3]]
                if examples:
                    more = ", …" if len(examples) == 3 else ""
                    in_use.append(f"{rel.related_model._meta.verbose_name_plural} ({', '.join(examples)}{more})")
        if in_use:
            raise InUse(f"{instance} is still used by {'; '.join(in_use)}: it cannot be deleted")
        try:
            instance.delete()
        except ProtectedError as exc:
            names = sorted({str(o) for o in exc.protected_objects})[:5]
            raise InUse(f"{instance} is still used by: {', '.join(names)}") from None


class VerticalViewSet(ReferenceViewSet):
    kind = "verticals"
    identity = ("name",)
    serializer_class = output_serializer = VerticalSerializer
    as_dict = staticmethod(services._vertical_dict)
    queryset = Vertical.objects.order_by("name")
    lookup_field = "slug"
    search_fields = ["name"]
    ordering_fields = ["name"]


class UseCaseViewSet(ReferenceViewSet):
    kind = "use_cases"
    identity = ("name",)
    serializer_class = output_serializer = UseCaseSerializer
    as_dict = staticmethod(services._vertical_dict)
    queryset = UseCase.objects.order_by("name")
    lookup_field = "slug"
    search_fields = ["name"]
    ordering_fields = ["name"]


class FeatureViewSet(ReferenceViewSet):
    kind = "features"
    identity = ("key",)
    serializer_class = output_serializer = FeatureSerializer
    as_dict = staticmethod(services._feature_dict)
    queryset = Feature.objects.order_by("key")
    lookup_field = "key"
    search_fields = ["key", "name"]
    ordering_fields = ["key", "name"]


class TierViewSet(ReferenceViewSet):
    kind = "tiers"
    identity = ("name",)
    serializer_class = output_serializer = TierSerializer
    as_dict = staticmethod(services._tier_dict)
    queryset = Tier.objects.order_by("-min_arr")
    ordering_fields = ["min_arr", "name"]

    def _apply(self, item, instance=None):
        # The serializer writes min_arr as a decimal string ("5.00"); the document takes a number.
        if isinstance(item, dict) and isinstance(item.get("min_arr"), str):
            try:
                value = Decimal(item["min_arr"])
            except InvalidOperation:
                pass  # left as it is: the validation names the field
            else:
                if value.is_finite():
                    item = {**item, "min_arr": int(value) if value == value.to_integral_value() else float(value)}
        return super()._apply(item, instance)


class MeasureDoc(serializers.Serializer):
    metric = serializers.CharField()
    weight = serializers.FloatField(required=False)
    red = serializers.FloatField()
    green = serializers.FloatField()


class ScorecardDoc(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField()
    vertical = serializers.CharField(allow_null=True, required=False)
    use_case = serializers.CharField(allow_null=True, required=False)
    active = serializers.BooleanField(required=False)
    healthy_at = serializers.IntegerField(required=False)
    at_risk_below = serializers.IntegerField(required=False)
    measures = MeasureDoc(many=True)


class SegmentDoc(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True)
    touch_model = serializers.CharField(allow_null=True, required=False)
    priority = serializers.IntegerField(required=False)
    active = serializers.BooleanField(required=False)
    rule = serializers.JSONField(help_text='e.g. {"all": [{"field": "vertical", "op": "eq", "value": "Education"}]}')


class StageDoc(serializers.Serializer):
    name = serializers.CharField()
    features = serializers.ListField(child=serializers.CharField())
    min_events_90d = serializers.IntegerField(required=False)


class JourneyDoc(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    vertical = serializers.CharField()
    use_case = serializers.CharField()
    stages = StageDoc(many=True)


class PlayTaskDoc(serializers.Serializer):
    title = serializers.CharField()
    body = serializers.CharField(required=False, allow_blank=True)
    assignee = serializers.CharField(required=False, help_text="owner, user:<email> or group:<group name>")
    due_in_days = serializers.IntegerField(required=False)
    priority = serializers.CharField(required=False)


class PlayWebhookDoc(serializers.Serializer):
    url = serializers.CharField()
    secret = serializers.CharField(
        help_text="read back as '********<fingerprint>'; sending that back keeps the stored secret"
    )


class PlayDoc(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField()
    active = serializers.BooleanField(required=False)
    trigger = serializers.JSONField(help_text='e.g. {"type": "segment_entered", "segment": "Education at risk"}')
    condition = serializers.JSONField(required=False, allow_null=True)
    cooldown_days = serializers.IntegerField(required=False)
    task = PlayTaskDoc(required=False, allow_null=True)
    notify = serializers.ListField(child=serializers.CharField(), required=False, allow_null=True)
    webhook = PlayWebhookDoc(required=False, allow_null=True)


class PlayViewSet(DocumentItemViewSet):
    """Plays (SPEC §9): read for the team; written by CS Admins through the config document's validation."""

    kind = "plays"
    serializer_class = PlayDoc
    identity = ("name",)
    as_dict = staticmethod(services._play_dict)
    queryset = Play.objects.order_by("name")

    def lookup_saved(self, item):
        return Play.objects.get(name__iexact=item["name"].strip())


class SegmentViewSet(DocumentItemViewSet):
    """Segments: rules validated as in apply_config; `members/` lists stays with entered/left dates."""

    kind = "segments"
    serializer_class = SegmentDoc
    identity = ("name",)
    as_dict = staticmethod(services._segment_dict)
    queryset = Segment.objects.order_by("-priority", "name")
    lookup_field = "slug"

    def lookup_saved(self, item):
        return Segment.objects.get(name__iexact=item["name"].strip())

    @extend_schema(
        parameters=[OpenApiParameter("current", bool, description="only stays open today")],
        responses=inline_serializer(
            "Membership",
            {
                "account_id": serializers.IntegerField(),
                "external_id": serializers.CharField(),
                "name": serializers.CharField(),
                "entered_on": serializers.DateField(),
                "left_on": serializers.DateField(allow_null=True),
            },
            many=True,
        ),
    )
    @action(detail=True, methods=["get"])
    def members(self, request, slug=None):
        segment = self.get_object()
        stays = segment.memberships.select_related("account").order_by("-entered_on", "account__name")
        if request.query_params.get("current") in ("1", "true", "yes"):
            day = results_day()
            stays = memberships_on(day).filter(segment=segment).select_related("account") if day else stays.none()
        page = self.paginate_queryset(stays)
        return self.get_paginated_response(
            [
                {
                    "account_id": s.account_id,
                    "external_id": s.account.external_id,
                    "name": s.account.name,
                    "entered_on": s.entered_on,
                    "left_on": s.left_on,
                }
                for s in page
            ]
        )


class ScorecardViewSet(DocumentItemViewSet):
    """Scorecards with their measures, validated as in apply_config."""

    kind = "scorecards"
    serializer_class = ScorecardDoc
    identity = ("name",)
    as_dict = staticmethod(services._scorecard_dict)
    queryset = Scorecard.objects.select_related("vertical", "use_case").prefetch_related("measures").order_by("name")

    def lookup_saved(self, item):
        return self.get_queryset().get(name__iexact=item["name"].strip())


class JourneyViewSet(DocumentItemViewSet):
    """Journeys per vertical and use case, with ordered stages."""

    kind = "journeys"
    serializer_class = JourneyDoc
    identity = ("vertical", "use_case")
    as_dict = staticmethod(services._journey_dict)
    queryset = (
        Journey.objects.select_related("vertical", "use_case")
        .prefetch_related("stages__features")
        .order_by("vertical__name", "use_case__name")
    )

    def lookup_saved(self, item):
        return self.get_queryset().get(
            vertical__name__iexact=item["vertical"].strip(), use_case__name__iexact=item["use_case"].strip()
        )


REPORT = inline_serializer(
    "ApplyReport",
    {
        "dry_run": serializers.BooleanField(),
        "created": serializers.DictField(),
        "updated": serializers.DictField(),
        "deleted": serializers.DictField(),
        "unchanged": serializers.DictField(),
    },
)


class ConfigView(APIView):
    """GET: the whole configuration document. POST: apply one (`?dry_run=true` to preview, `?prune=true`)."""

    permission_classes = [IsAdminOrReadOnly]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response(config_export())

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        parameters=[OpenApiParameter("dry_run", bool), OpenApiParameter("prune", bool)],
        responses={200: REPORT},
    )
    def post(self, request):
        flag = {"1", "true", "yes"}
        try:
            report = config_apply(
                document=request.data,
                dry_run=request.query_params.get("dry_run", "").lower() in flag,
                prune=request.query_params.get("prune", "").lower() in flag,
                actor=request.user,
                source=AuditEntry.Source.API,
            )
        except ConfigInvalid as exc:
            return error_response(_errors(exc))
        return Response(
            {
                "dry_run": report.dry_run,
                "created": report.created,
                "updated": report.updated,
                "deleted": report.deleted,
                "unchanged": report.unchanged,
            }
        )
