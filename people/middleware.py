"""Roles on every page, in one place: after LoginRequiredMiddleware has sent anonymous visitors to
the login page, a signed-in user without a role (see roles.is_team_member) gets the 403 page on
every view, unless the view is marked `role_not_required` (the profile, logout) or is public
(`login_not_required`: login, healthz, error pages).

The API's views are `login_not_required` too (DRF marks every APIView so): their permission
classes (people.api_auth.IsTeamMember by default, CanIngest for ingestion) ask the same
`roles.is_team_member` and answer in the API's JSON error format."""

from django.core.exceptions import PermissionDenied

from people import roles

NO_ROLE = (
    "Your login has no CS Portal role (CSM, CS Leader or CS Admin), so it cannot open this page. "
    "Ask a CS Admin to give you one; your profile page still shows your API tokens."
)


class RoleRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not request.user.is_authenticated:
            return None  # LoginRequiredMiddleware (just before) has dealt with anonymous visitors
        if not getattr(view_func, "login_required", True) or not getattr(view_func, "role_required", True):
            return None
        if not roles.is_team_member(request.user):
            raise PermissionDenied(NO_ROLE)
        return None
