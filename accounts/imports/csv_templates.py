"""A CSV template per import kind: the header the importer reads (required columns, then the
optional ones) and one example row that imports cleanly, for the admin's import page.

The usage and NPS examples name the accounts example's external_id, so the three templates
imported in order (accounts first) all succeed.
"""

import csv
import io

from accounts.imports import accounts, nps, usage

EXAMPLE_ACCOUNT = "ACME-001"

TEMPLATES: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "accounts": (
        (*accounts.REQUIRED, *accounts.OPTIONAL),
        {
            "external_id": EXAMPLE_ACCOUNT,
            "name": "Acme Schools",
            "vertical": "Education",
            "use_cases": "PTA meetings;Board meetings",
            "arr": "24000",
            "owner_email": "csm@example.com",
            "employees": "350",
            "persona": "manager",
            "seats": "40",
            "start_date": "2025-01-15",
            "renewal_date": "2027-01-15",
            "churned_on": "",
        },
    ),
    "usage": (
        usage.REQUIRED,
        {
            "account_external_id": EXAMPLE_ACCOUNT,
            "date": "2026-11-30",
            "feature": "scheduling",
            "events": "12",
            "active_users": "5",
        },
    ),
    "nps": (
        (*nps.REQUIRED, *nps.OPTIONAL),
        {"account_external_id": EXAMPLE_ACCOUNT, "date": "2026-11-30", "score": "9", "comment": "Booking is easy"},
    ),
}


def csv_template(kind: str) -> str:
    """The template of one import kind as CSV text (header + example row)."""
    columns, example = TEMPLATES[kind]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerow([example[c] for c in columns])
    return out.getvalue()
