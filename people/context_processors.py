from people import roles


def role_flags(request):
    """Lets templates show or hide navigation by role without querying in the template."""
    user = request.user
    return {
        "is_leader_or_admin": roles.is_leader_or_admin(user),
        "is_cs_admin": roles.is_admin(user),
    }
