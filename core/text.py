"""Text helpers shared by every layer."""

SHOWN = 80


def shown(value: str, limit: int = SHOWN) -> str:
    """A user's value as quoted back in a message: at most `limit` characters, then '…'.

    A 40 MB cell echoed whole once made a 168 MB error response (issue 15)."""
    return value if len(value) <= limit else f"{value[:limit]}…"
