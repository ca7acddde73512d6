"""The segment form of the admin: the rule is JSON the builder writes, validated here (never in JS)."""

import json

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import slugify

from core.errors import Problem
from segments.models import Segment
from segments.rules import validate_rule

MAX_RULE_CHARS = 100_000


def parse_rule_text(text: str) -> tuple[object, Problem | None]:
    """The rule a JSON text holds, or the problem that stops it being read (too long, bad JSON)."""
    if len(text) > MAX_RULE_CHARS:
        return None, Problem("rule", f"{len(text):,} characters is too long for a rule (at most {MAX_RULE_CHARS:,})")
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, Problem("rule", f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
    except RecursionError:
        return None, Problem("rule", "JSON nested too deeply")


class RuleField(forms.CharField):
    """A segment rule as JSON text: parsed, then checked with segments/rules.py.

    Every problem is one message naming its place: the line and column of a JSON syntax error,
    or the path of the condition (`rule.all[1].value: …`) for a rule that breaks the grammar.
    """

    widget = forms.Textarea(attrs={"rows": 14, "cols": 80, "spellcheck": "false", "class": "rule-json"})

    def __init__(self, **kwargs):
        kwargs.setdefault("strip", True)
        kwargs.setdefault("error_messages", {"required": "rule: a rule is required; add at least one condition"})
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if value is None:
            return ""  # a new segment: the builder starts with one empty condition
        if isinstance(value, str):
            return value  # the text as typed, re-shown with its errors
        return json.dumps(value, indent=2, ensure_ascii=False)

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return text
        value, problem = parse_rule_text(text)
        if problem is not None:
            raise ValidationError(problem, code="json")
        return value

    def has_changed(self, initial, data):
        try:
            return json.loads(data) != initial
        except (TypeError, ValueError):
            return True

    def validate(self, value):
        super().validate(value)
        errors = validate_rule(value, "rule")
        if errors:
            raise ValidationError(errors, code="rule")


class SegmentAdminForm(forms.ModelForm):
    rule = RuleField(
        label="Rule",
        help_text="Build the rule with the conditions above, or edit its JSON (the builder follows).",
    )

    class Meta:
        model = Segment
        fields = ["name", "description", "touch_model", "priority", "active", "rule"]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if self.instance.pk is None:
            # The slug is the segment's URL (/segments/<slug>/), made once from the first name.
            slug = slugify(name)[:140] or "segment"
            clash = Segment.objects.filter(slug=slug).first()
            if clash is not None:
                raise ValidationError(f"name: '{name}' would share the address /segments/{slug}/ with '{clash.name}'")
        return name
