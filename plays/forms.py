"""Forms of the task and timeline pages (validation only; the services write)."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from people import roles
from plays.models import Priority, Task, TimelineNote


def team_members():
    return (
        get_user_model()
        .objects.filter(groups__name__in=roles.ROLES, is_active=True)
        .distinct()
        .order_by("first_name", "username")
    )


class TaskFilterForm(forms.Form):
    owner = forms.CharField(required=False)  # "me", "none", a user id
    play = forms.CharField(required=False, max_length=120)
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Task.Status.choices])
    due = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any time"),
            ("overdue", "Overdue"),
            ("today", "Today"),
            ("week", "Next 7 days"),
            ("none", "No due date"),
        ],
    )

    def clean_play(self):
        return self.cleaned_data["play"].replace("\x00", "")


class TaskForm(forms.Form):
    title = forms.CharField(max_length=300)
    body = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    assignee = forms.ModelChoiceField(queryset=None, required=False, empty_label="Unassigned")
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.NORMAL)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = team_members()


class ReassignForm(forms.Form):
    assignee = forms.ModelChoiceField(queryset=None, required=False, empty_label="Unassigned")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = team_members()


class SnoozeForm(forms.Form):
    until = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def clean_until(self):
        until = self.cleaned_data["until"]
        if until <= timezone.localdate():
            raise forms.ValidationError("until: pick a day after today")
        return until


class DueForm(forms.Form):
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


class NoteForm(forms.Form):
    kind = forms.ChoiceField(choices=TimelineNote.Kind.choices, initial=TimelineNote.Kind.CALL)
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=10000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date"].initial = timezone.localdate()
