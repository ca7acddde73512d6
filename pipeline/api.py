"""Recompute runs over the API: start one (202 with its id), read its status."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from core.api.errors import error_response
from people.api_auth import IsAdminOrReadOnly
from pipeline.models import RecomputeRun
from pipeline.services import RecomputeNotQueued, recompute_date_check, recompute_enqueue

NOT_QUEUED = (
    "the recompute could not be queued: the task broker (Redis) is unreachable. Nothing was started and no "
    "lock is held; /healthz shows the broker's state — try again once it is back"
)


class RecomputeRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = RecomputeRun
        fields = [
            "id",
            "as_of",
            "status",
            "trigger",
            "created_at",
            "started_at",
            "finished_at",
            "accounts_scored",
            "chunks_total",
            "chunks_done",
            "error",
        ]


class RecomputeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Recompute runs, newest first. POST starts one (CS Admins); a run in progress refuses a second (409);
    a bad `as_of` is a 400 naming it; a broker that cannot take the run is a 503 (the lock is released)."""

    permission_classes = [IsAdminOrReadOnly]
    serializer_class = RecomputeRunSerializer
    queryset = RecomputeRun.objects.order_by("-created_at", "-id")

    @extend_schema(
        request=inline_serializer("RecomputeRequest", {"as_of": serializers.DateField(required=False)}),
        responses={202: RecomputeRunSerializer, 409: RecomputeRunSerializer},
    )
    def create(self, request, *args, **kwargs):
        data = request.data
        if not isinstance(data, dict):
            return error_response([{"path": "", "message": 'the body must be an object, e.g. {"as_of": "2026-12-01"}'}])
        as_of = timezone.localdate()
        if "as_of" in data:  # absent: today; present, it must be a date (not "", null or a list)
            try:
                as_of = recompute_date_check(data["as_of"])
            except ValueError as exc:
                return error_response([{"path": "as_of", "message": str(exc)}])
        try:
            run = recompute_enqueue(as_of=as_of, trigger="api")
        except RecomputeNotQueued:
            return error_response([{"path": "", "message": NOT_QUEUED}], status.HTTP_503_SERVICE_UNAVAILABLE)
        run.refresh_from_db()
        code = status.HTTP_409_CONFLICT if run.status == RecomputeRun.Status.REFUSED else status.HTTP_202_ACCEPTED
        return Response(RecomputeRunSerializer(run).data, status=code)
