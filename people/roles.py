"""The three roles of the team, as Django groups, and the helpers that ask which one a user has."""

CSM = "CSM"
LEADER = "CS Leader"
ADMIN = "CS Admin"
ROLES = (CSM, LEADER, ADMIN)


def role_names(user) -> set[str]:
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            cached.add(ADMIN)
        user._role_names = cached
    return cached


def is_leader_or_admin(user) -> bool:
    return bool(role_names(user) & {LEADER, ADMIN})


def is_admin(user) -> bool:
    return ADMIN in role_names(user)


def is_team_member(user) -> bool:
    """A signed-in user with one of the three roles, or staff: who may see any page or call the API.

    An offboarded user (groups removed) or one created in the admin without a group is not."""
    return bool(user.is_authenticated and (user.is_staff or role_names(user)))


def role_not_required(view_func):
    """Marks a page a signed-in user without a role may still open (their profile, logging out),
    as Django's `login_not_required` marks pages for anonymous visitors; RoleRequiredMiddleware
    refuses every other page."""
    view_func.role_required = False
    return view_func
