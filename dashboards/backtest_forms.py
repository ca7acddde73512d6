"""The backtest's parameters, validated once for the command, the page and the API."""

from django import forms

from dashboards.backtest import DEFAULT_HORIZON, DEFAULT_STEP, BacktestParams
from health.models import Scorecard


class BacktestForm(forms.Form):
    """from / to / horizon / step / compare. Errors are keyed by parameter name ("from", "horizon"…)."""

    horizon = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=3650,
        initial=DEFAULT_HORIZON,
        help_text="days after each observation date in which a churn counts",
    )
    step = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=3650,
        initial=DEFAULT_STEP,
        help_text="at least this many days between observation dates",
    )
    compare = forms.ChoiceField(
        required=False,
        label="Compare with",
        help_text="re-score every observation with this scorecard (one size for everyone)",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "from" is a Python keyword: the fields are added by name.
        self.fields = {
            "from": forms.DateField(
                required=False, label="From", input_formats=["%Y-%m-%d"], widget=forms.DateInput(attrs={"type": "date"})
            ),
            "to": forms.DateField(
                required=False, label="To", input_formats=["%Y-%m-%d"], widget=forms.DateInput(attrs={"type": "date"})
            ),
            **self.fields,
        }
        self.fields["compare"].choices = [("", "—")] + [
            (n, n) for n in Scorecard.objects.values_list("name", flat=True)
        ]
        for name in ("from", "to"):
            self.fields[name].error_messages["invalid"] = "not a date in YYYY-MM-DD form"
        for name in ("horizon", "step"):
            self.fields[name].error_messages.update(
                invalid="must be a whole number of days",
                min_value="must be a number of days greater than 0",
                max_value="must be at most 3650 days",
            )
        self.fields["compare"].error_messages["invalid_choice"] = "no scorecard is called '%(value)s'"

    def clean_compare(self):
        name = self.cleaned_data.get("compare") or ""
        return name or None

    def clean(self):
        data = super().clean()
        start, end = data.get("from"), data.get("to")
        if start and end and start > end:
            self.add_error("from", f"{start} is after to ({end})")
        return data

    def params(self) -> BacktestParams:
        """The validated parameters (call after is_valid())."""
        data = self.cleaned_data
        return BacktestParams(
            date_from=data.get("from"),
            date_to=data.get("to"),
            horizon=data.get("horizon") or DEFAULT_HORIZON,
            step=data.get("step") or DEFAULT_STEP,
            compare=data.get("compare"),
        )

    def error_list(self) -> list[dict]:
        """[{path, message}], the API's error format."""
        return [
            {"path": field, "message": str(message)} for field, messages in self.errors.items() for message in messages
        ]
