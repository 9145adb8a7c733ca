"""Keyset-paged listings over HTTP: page parameters from the query, the listing's base URL."""

from __future__ import annotations

from starlette.requests import Request

from wildside_common.errors import InvalidInput
from wildside_common.pagination import PageParams
from wildside_common.pagination_metrics import count_error


def page_params(request: Request, listing: str, default: int, maximum: int) -> PageParams:
    """Page parameters from the query; rejected ones are counted by `details.code`."""
    query = request.query_params
    try:
        return PageParams.parse(query.get("limit"), query.get("cursor"), default, maximum)
    except InvalidInput as exc:
        count_error(listing, exc)
        raise


def listing_base(request: Request) -> str:
    url = request.url
    return f"{url.scheme}://{url.netloc}{url.path}"
