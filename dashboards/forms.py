from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef

from accounts.models import Account, Tier, Vertical
from dashboards.account_list import DEFAULT_SORT, RENEWAL_WINDOWS, SORTS, STATUSES, ListFilters
from dashboards.templatetags.cs_format import BAND_LABELS
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


class AccountListForm(forms.Form):
    """The account list's filters and sort. A CSM opening the list without an owner filter sees
    their own accounts ("My accounts"); choosing "All owners" (an empty owner) shows everyone's."""

    q = forms.CharField(required=False, max_length=100, label="Search")
    vertical = forms.ChoiceField(required=False)
    owner = forms.ChoiceField(required=False)
    band = forms.ChoiceField(required=False, label="Health band")
    segment = forms.ChoiceField(required=False)
    tier = forms.ChoiceField(required=False)
    renewal = forms.ChoiceField(required=False)
    status = forms.ChoiceField(required=False)
    sort = forms.ChoiceField(required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vertical"].choices = [("", "All verticals")] + list(Vertical.objects.values_list("slug", "name"))
        owners = get_user_model().objects.filter(Exists(Account.objects.filter(owner=OuterRef("pk"))))
        mine = [(str(user.pk), "My accounts")] if user is not None and user.is_authenticated else []
        self.fields["owner"].choices = [("", "All owners"), *mine] + [
            (str(u.pk), str(u)) for u in owners if not mine or u.pk != user.pk
        ]
        self.fields["band"].choices = [("", "All bands")] + [
            (b, BAND_LABELS[b]) for b in ("healthy", "neutral", "at_risk", "unknown")
        ]
        self.fields["segment"].choices = [("", "All segments")] + list(Segment.objects.values_list("slug", "name"))
        self.fields["tier"].choices = [("", "All tiers")] + [
            (str(pk), name) for pk, name in Tier.objects.values_list("pk", "name")
        ]
        self.fields["renewal"].choices = [("", "Any renewal date"), *RENEWAL_WINDOWS.items()]
        self.fields["status"].choices = list(STATUSES.items())
        self.fields["sort"].choices = [(s, s) for key in SORTS for s in (key, f"-{key}")]

    def filters(self) -> ListFilters:
        """The valid filters (an invalid one is dropped, its error shown by the page)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        values = {
            name: data.get(name) or "" for name in ("q", "vertical", "owner", "band", "segment", "tier", "renewal")
        }
        return ListFilters(**values, status=data.get("status") or "active", sort=data.get("sort") or DEFAULT_SORT)

    def error_text(self) -> str:
        return "; ".join(f"{field}: {' '.join(errors)}" for field, errors in self.errors.items())
