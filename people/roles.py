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
