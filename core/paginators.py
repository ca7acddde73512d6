"""Paging: one page size for every list, and paging over tables of millions of rows."""

from django.core.paginator import Paginator
from django.utils.functional import cached_property

# Rows per page of every list page and API list (the API lets a client ask for up to MAX_PAGE_SIZE).
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


class CappedCountPaginator(Paginator):
    """Counts at most `cap` + 1 rows, not all of them.

    `SELECT count(*)` over a year of daily health scores (36.5 million rows at 100,000 accounts)
    takes seconds on every admin changelist page; counting the first `cap` + 1 rows of the same
    query takes milliseconds. Past the cap, `count` is the cap and `capped` is true: the pages go
    up to the cap (filters narrow the list further) and the changelist says "more than N".
    """

    cap = 10_000

    @cached_property
    def count(self) -> int:
        found = self.object_list[: self.cap + 1].count()
        self.capped = found > self.cap
        return min(found, self.cap)

    capped = False
