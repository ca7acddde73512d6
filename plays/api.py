"""API of plays (SPEC §9): tasks (list, filter, create manual ones, PATCH status/assignee/due date),
timeline notes (list, create) and the firing log. Writes go through plays.services."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from accounts.models import Account
from plays import selectors, services
from plays.models import PlayFiring, Priority, Task, TimelineNote

User = get_user_model()


class AccountRef(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(slug_field="external_id", queryset=Account.objects.all(), **kwargs)


@extend_schema_field(OpenApiTypes.EMAIL)
class TeamMemberEmail(serializers.Field):
    """A team member by email (in and out); null for nobody."""

    def to_representation(self, value):
        return value.email if value else None

    def to_internal_value(self, data):
        email = data.strip() if isinstance(data, str) else ""
        try:
            validate_email(email)
        except DjangoValidationError:
            raise serializers.ValidationError("enter a valid email address") from None
        user = User.objects.filter(email__iexact=email, is_active=True).order_by("pk").first()
        if user is None:
            raise serializers.ValidationError(f"no active team member has the email '{email}'")
        return user


class TaskSerializer(serializers.ModelSerializer):
    account = AccountRef()
    play = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    assignee = TeamMemberEmail(required=False, allow_null=True)
    closed_by = TeamMemberEmail(read_only=True, allow_null=True)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)

    class Meta:
        model = Task
        fields = [
            "id",
            "account",
            "play",
            "title",
            "body",
            "status",
            "assignee",
            "due_date",
            "priority",
            "why",
            "snoozed_until",
            "created_at",
            "updated_at",
            "closed_by",
            "closed_at",
        ]
        read_only_fields = ["play", "why", "created_at", "updated_at", "closed_by", "closed_at", "snoozed_until"]


class TaskUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Task.Status.choices, required=False)
    assignee = TeamMemberEmail(required=False, allow_null=True)
    due_date = serializers.DateField(required=False, allow_null=True)


class TaskFilter(filters.FilterSet):
    account = filters.CharFilter(field_name="account__external_id", help_text="the account's external id")
    status = filters.ChoiceFilter(choices=Task.Status.choices)
    play = filters.CharFilter(field_name="play__name", lookup_expr="iexact", help_text="the play's name")
    assignee = filters.CharFilter(field_name="assignee__email", lookup_expr="iexact", help_text="the assignee's email")

    class Meta:
        model = Task
        fields = ["account", "status", "play", "assignee"]


class TaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Tasks of every account; PATCH changes status, assignee and due date (with who and when)."""

    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    queryset = Task.objects.for_list().order_by("status", "due_date", "pk")
    ordering_fields = ["due_date", "created_at", "priority"]
    search_fields = []
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_class(self):
        return TaskUpdateSerializer if self.action == "partial_update" else TaskSerializer

    def perform_create(self, serializer):
        data = serializer.validated_data
        try:
            serializer.instance = services.task_create(
                account=data["account"],
                title=data["title"],
                body=data.get("body", ""),
                assignee=data.get("assignee"),
                due_date=data.get("due_date"),
                priority=data.get("priority", Priority.NORMAL),
                actor=self.request.user,
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None

    def partial_update(self, request, *args, **kwargs):
        task = self.get_object()
        if not selectors.can_edit_task(request.user, task):
            raise PermissionDenied("CSMs change their own tasks and the tasks of their accounts.")
        update = TaskUpdateSerializer(data=request.data)
        update.is_valid(raise_exception=True)
        data = update.validated_data
        try:
            if "assignee" in data and data["assignee"] != task.assignee:
                services.task_reassign(task=task, assignee=data["assignee"], actor=request.user)
            if "due_date" in data and data["due_date"] != task.due_date:
                services.task_set_due(task=task, due_date=data["due_date"], actor=request.user)
            if "status" in data:
                services.task_set_status(task=task, status=data["status"], actor=request.user)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        return self.retrieve(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        task = Task.objects.for_list().get(pk=self.get_object().pk)
        return Response(TaskSerializer(task).data)


class NoteSerializer(serializers.ModelSerializer):
    account = AccountRef()
    author = TeamMemberEmail(read_only=True)
    date = serializers.DateField(required=False)

    class Meta:
        model = TimelineNote
        fields = ["id", "account", "kind", "date", "text", "author", "created_at"]
        read_only_fields = ["author", "created_at"]


class NoteFilter(filters.FilterSet):
    account = filters.CharFilter(field_name="account__external_id", help_text="the account's external id")
    kind = filters.ChoiceFilter(choices=TimelineNote.Kind.choices)

    class Meta:
        model = TimelineNote
        fields = ["account", "kind"]


class NoteViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Timeline notes (call, meeting, email, note) the team writes about accounts."""

    serializer_class = NoteSerializer
    filterset_class = NoteFilter
    queryset = TimelineNote.objects.select_related("account", "author").order_by("-date", "-pk")
    search_fields = []
    ordering_fields = ["date"]

    def perform_create(self, serializer):
        data = serializer.validated_data
        try:
            serializer.instance = services.note_create(
                account=data["account"],
                kind=data.get("kind", "note"),
                text=data["text"],
                author=self.request.user,
                day=data.get("date"),
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None


class FiringSerializer(serializers.ModelSerializer):
    play = serializers.SlugRelatedField(slug_field="name", read_only=True)
    account = serializers.SlugRelatedField(slug_field="external_id", read_only=True)
    task = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = PlayFiring
        fields = ["id", "play", "account", "day", "why", "facts", "task", "created_at"]


class FiringFilter(filters.FilterSet):
    play = filters.CharFilter(field_name="play__name", lookup_expr="iexact")
    account = filters.CharFilter(field_name="account__external_id")
    day = filters.DateFilter()

    class Meta:
        model = PlayFiring
        fields = ["play", "account", "day"]


class FiringViewSet(viewsets.ReadOnlyModelViewSet):
    """The firing log: which play fired for which account on which day, and why."""

    serializer_class = FiringSerializer
    filterset_class = FiringFilter
    queryset = selectors.firing_list()
    search_fields = []
    ordering_fields = ["day"]
