from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

from core.paginators import MAX_PAGE_SIZE, PAGE_SIZE


class Pagination(PageNumberPagination):
    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        """`page_size` from 1 up (more than max_page_size gives max_page_size); anything else —
        `null`, `abc`, `0`, `-3` — is a 400 naming the parameter, not silently the default."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError(
                {self.page_size_query_param: f"must be a whole number from 1 to {self.max_page_size}, got '{raw[:40]}'"}
            )
        return min(size, self.max_page_size)
