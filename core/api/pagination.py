from rest_framework.pagination import PageNumberPagination

from core.paginators import MAX_PAGE_SIZE, PAGE_SIZE


class Pagination(PageNumberPagination):
    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
