"""CSV imports of SPEC §4.1–4.3: accounts, daily usage and NPS.

One service per file kind; the management commands, the admin upload and the API call these.
"""

from accounts.imports.accounts import import_accounts
from accounts.imports.common import ImportFailed, ImportResult
from accounts.imports.nps import import_nps
from accounts.imports.usage import import_usage

__all__ = ["ImportFailed", "ImportResult", "import_accounts", "import_nps", "import_usage"]
