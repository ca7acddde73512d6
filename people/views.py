"""The team member's profile: personal API tokens (created, shown once, revoked)."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from people import services
from people.models import ApiToken
from people.roles import role_not_required


class TokenForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="What the token is for, e.g. 'Snowflake usage sync'.")
    scope = forms.ChoiceField(choices=ApiToken.SCOPE_CHOICES, initial=ApiToken.SCOPE_READ)


@role_not_required
@require_http_methods(["GET", "POST"])
def profile(request):
    new_key = None
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _, new_key = services.api_token_create(
            user=request.user, name=form.cleaned_data["name"], scope=form.cleaned_data["scope"]
        )
        form = TokenForm()
    tokens = ApiToken.objects.filter(user=request.user)
    return render(request, "people/profile.html", {"form": form, "tokens": tokens, "new_key": new_key})


@role_not_required
@require_POST
def revoke_token(request, token_id: int):
    if services.api_token_revoke(user=request.user, token_id=token_id):
        messages.success(request, "Token revoked: integrations using it stop working now.")
    else:
        messages.error(request, "No such active token.")
    return redirect("profile")
