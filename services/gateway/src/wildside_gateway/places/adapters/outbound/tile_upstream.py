"""The development tile server over HTTP (httpx), for the gateway's /tiles in
development: one client, short timeouts; no answer is Unavailable (503)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from wildside_common.errors import NotFound, Unavailable
from wildside_gateway.places.ports import RelayedTile


class HttpTileUpstream:
    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)

    async def get(self, uri: str, headers: Mapping[str, str]) -> RelayedTile:
        try:
            # The URI as sent: httpx must not re-encode or normalise it (tiles-auth's
            # decision is about this exact spelling).
            request = self.client.build_request("GET", self.client.base_url.join("/"))
            try:
                request.url = request.url.copy_with(raw_path=uri.encode("latin-1"))
            except httpx.InvalidURL:
                raise NotFound("no such tiles") from None
            if request.url.raw_path != uri.encode("latin-1"):
                # httpx would send another spelling (dot segments resolved): a URI no
                # map asks for, and tiles-auth refuses anything odd anyway.
                raise NotFound("no such tiles")
            request.headers.update(headers)
            response = await self.client.send(request)
        except httpx.HTTPError as exc:
            raise Unavailable("the development tile server does not answer") from exc
        return RelayedTile(
            response.status_code,
            {name.lower(): value for name, value in response.headers.items()},
            response.content,
        )

    async def close(self) -> None:
        await self.client.aclose()
