"""One pagination style for every list: `?limit=&offset=`, answered with count and links."""

from rest_framework.pagination import LimitOffsetPagination


class Pagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 1000
