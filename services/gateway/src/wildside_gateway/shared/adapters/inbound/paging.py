"""Keyset-paged listings over HTTP: page parameters from the query, the listing's base URL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from wildside_common.errors import InvalidInput
from wildside_common.pagination import PageParams, Paginated, Window
from wildside_common.pagination_metrics import count_error, observe_page
from wildside_common.transport.http import JSONResponse

T = TypeVar("T")


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


def page_response(
    request: Request,
    listing: str,
    params: PageParams,
    window: Window[T],
    view: Callable[[T], dict[str, Any]],
) -> Response:
    """One page of a listing as the envelope (`data`, `limit`, `links`), observed."""
    observe_page(listing, params, len(window.items))
    page = Paginated.build(
        window, params, listing_base(request), request.query_params.multi_items()
    )
    return JSONResponse(page.to_wire(view))
