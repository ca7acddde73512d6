"""Recompute runs over the API: start one (202 with its id), read its status."""

from datetime import date

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from people.api_auth import IsAdminOrReadOnly
from pipeline.models import RecomputeRun
from pipeline.services import recompute_enqueue


class RecomputeRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = RecomputeRun
        fields = ["id", "as_of", "status", "trigger", "created_at", "started_at", "finished_at", "accounts_scored",
                  "chunks_total", "chunks_done", "error"]  # fmt: skip


class RecomputeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Recompute runs, newest first. POST starts one (CS Admins); a run in progress refuses a second (409)."""

    permission_classes = [IsAdminOrReadOnly]
    serializer_class = RecomputeRunSerializer
    queryset = RecomputeRun.objects.order_by("-created_at", "-id")

    @extend_schema(
        request=inline_serializer("RecomputeRequest", {"as_of": serializers.DateField(required=False)}),
        responses={202: RecomputeRunSerializer, 409: RecomputeRunSerializer},
    )
    def create(self, request, *args, **kwargs):
        raw = request.data.get("as_of") if isinstance(request.data, dict) else None
        try:
            as_of = date.fromisoformat(raw) if raw else timezone.localdate()
        except (TypeError, ValueError):
            return Response({"errors": [{"path": "as_of", "message": f"'{raw}' is not a date in YYYY-MM-DD form"}]},
                            status=status.HTTP_400_BAD_REQUEST)  # fmt: skip
        run = recompute_enqueue(as_of=as_of, trigger="api")
        run.refresh_from_db()
        code = status.HTTP_409_CONFLICT if run.status == RecomputeRun.Status.REFUSED else status.HTTP_202_ACCEPTED
        return Response(RecomputeRunSerializer(run).data, status=code)
