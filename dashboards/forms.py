from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef

from accounts.models import Account, Vertical
from segments.models import Segment


class RiskFilterForm(forms.Form):
    """The risk list's filters. Invalid values are reported by field name and the filter is dropped."""

    vertical = forms.ChoiceField(required=False)
    owner = forms.ChoiceField(required=False)
    segment = forms.ChoiceField(required=False)
    page = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vertical"].choices = [("", "All verticals")] + list(Vertical.objects.values_list("slug", "name"))
        owners = (
            get_user_model().objects.filter(Exists(Account.objects.filter(owner=OuterRef("pk")))).order_by("username")
        )
        self.fields["owner"].choices = [("", "All owners")] + [(str(u.pk), str(u)) for u in owners]
        self.fields["segment"].choices = [("", "All segments")] + list(Segment.objects.values_list("slug", "name"))

    def filters(self) -> dict:
        """The valid filters (an invalid one is left out, its error shown by the page)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: data.get(name) or "" for name in ("vertical", "owner", "segment")}

    def error_text(self) -> str:
        return "; ".join(f"{field}: {' '.join(errors)}" for field, errors in self.errors.items())
