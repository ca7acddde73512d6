from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef

from accounts.models import Account, Feature, Vertical


class AccountFilterForm(forms.Form):
    """The account list's filters; invalid values are ignored with the field's message shown."""

    q = forms.CharField(required=False, max_length=100, label="Search")
    vertical = forms.ChoiceField(required=False)
    owner = forms.ChoiceField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vertical"].choices = [("", "All verticals")] + list(Vertical.objects.values_list("slug", "name"))
        # EXISTS per team member (an index probe each), not a DISTINCT over a join with every account.
        owners = get_user_model().objects.filter(Exists(Account.objects.filter(owner=OuterRef("pk"))))
        self.fields["owner"].choices = [("", "All owners")] + [(str(u.pk), str(u)) for u in owners]


class StatedDriverForm(forms.Form):
    """A stated success driver: the feature the customer says gets them results, and a note."""

    feature = forms.ModelChoiceField(queryset=None, empty_label="Choose a feature…")
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["feature"].queryset = Feature.objects.order_by("name")
