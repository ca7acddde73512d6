"""REST API for reference data (verticals, use cases, features, tiers) and accounts."""

from django.db.models import ProtectedError
from rest_framework import serializers, viewsets
from rest_framework.exceptions import APIException

from accounts.models import Feature, Tier, UseCase, Vertical
from cs_portal.api.auth import IsAdminOrReadOnly


class InUse(APIException):
    status_code = 409
    default_detail = "This object is still in use and cannot be deleted."
    default_code = "in_use"


class ProtectedDeleteMixin:
    def perform_destroy(self, instance):
        try:
            instance.delete()
        except ProtectedError as exc:
            names = sorted({str(o) for o in exc.protected_objects})[:5]
            raise InUse(f"{instance} is still used by: {', '.join(names)}") from None


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


class VerticalViewSet(ProtectedDeleteMixin, viewsets.ModelViewSet):
    queryset = Vertical.objects.order_by("name")
    serializer_class = VerticalSerializer
    permission_classes = [IsAdminOrReadOnly]
    lookup_field = "slug"
    search_fields = ["name"]
    ordering_fields = ["name"]


class UseCaseViewSet(ProtectedDeleteMixin, viewsets.ModelViewSet):
    queryset = UseCase.objects.order_by("name")
    serializer_class = UseCaseSerializer
    permission_classes = [IsAdminOrReadOnly]
    lookup_field = "slug"
    search_fields = ["name"]
    ordering_fields = ["name"]


class FeatureViewSet(ProtectedDeleteMixin, viewsets.ModelViewSet):
    queryset = Feature.objects.order_by("key")
    serializer_class = FeatureSerializer
    permission_classes = [IsAdminOrReadOnly]
    lookup_field = "key"
    search_fields = ["key", "name"]
    ordering_fields = ["key", "name"]


class TierViewSet(ProtectedDeleteMixin, viewsets.ModelViewSet):
    queryset = Tier.objects.order_by("-min_arr")
    serializer_class = TierSerializer
    permission_classes = [IsAdminOrReadOnly]
    ordering_fields = ["min_arr", "name"]
