"""The gateway's development /tiles relay: only the session and If-None-Match go out,
only the tile's own headers come back, the URI exactly as sent; and HttpTileUpstream
against a real HTTP server answering as the in-memory echo does."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from gateway_place_fakes import EchoTileUpstream
from starlette.applications import Starlette

from wildside_common.config import ConfigError, EnvReader
from wildside_common.errors import NotFound, Unavailable
from wildside_gateway.config import tiles_dev_upstream
from wildside_gateway.places.adapters.inbound.tiles_proxy import tile_proxy_routes
from wildside_gateway.places.adapters.outbound.tile_upstream import HttpTileUpstream
from wildside_gateway.places.app import TileRelay

pytestmark = pytest.mark.contract
ODD = "/tiles/get%5Fpoi_tile/14/1/2?request_id=%22x%22&a=1"


class Echo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        wanted = ("authorization", "cookie", "if-none-match")
        names = sorted(name.lower() for name in self.headers if name.lower() in wanted)
        body = f"{self.path}|{','.join(names)}".encode()
        self.send_response(200)
        for name, value in (("Content-Type", "application/x-protobuf"), ("ETag", '"e"')):
            self.send_header(name, value)
        self.send_header("X-Internal", "1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def echo_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(params=["fake", "http"])
async def relay(request, echo_server: str):
    upstream = EchoTileUpstream() if request.param == "fake" else HttpTileUpstream(echo_server)
    yield TileRelay(upstream)
    if request.param == "http":
        await upstream.close()


async def test_the_uri_goes_as_sent_with_the_session_only(relay) -> None:
    headers = {"cookie": "session=t", "if-none-match": '"e"', "x-forwarded-for": "1.2.3.4"}
    answer = await relay.relay(ODD, {**headers, "host": "gw"})
    assert answer.status == 200
    assert answer.body == f"{ODD}|cookie,if-none-match".encode()
    assert dict(answer.headers) == {"content-type": "application/x-protobuf", "etag": '"e"'}


async def test_the_gateway_route_relays_the_raw_uri(relay) -> None:
    app = Starlette(routes=tile_proxy_routes(relay))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gw"
    ) as http:
        response = await http.get(ODD, headers={"Authorization": "Bearer t"})
    assert response.status_code == 200
    assert response.content == f"{ODD}|authorization".encode()
    assert "x-internal" not in response.headers


async def test_a_uri_httpx_would_respell_is_not_sent(echo_server: str) -> None:
    upstream = HttpTileUpstream(echo_server)
    try:
        with pytest.raises(NotFound):
            await upstream.get("/tiles/./get_poi_tile/14/1/2", {})
    finally:
        await upstream.close()


async def test_a_silent_tile_server_is_unavailable() -> None:
    upstream = HttpTileUpstream("http://127.0.0.1:9", timeout=1.0)
    try:
        with pytest.raises(Unavailable):
            await upstream.get("/tiles/get_poi_tile/14/1/2", {})
    finally:
        await upstream.close()


def test_the_upstream_setting_is_for_development_only() -> None:
    env = EnvReader({"TILES_DEV_UPSTREAM": "http://127.0.0.1:3000/"})
    assert tiles_dev_upstream(env, production=False) == "http://127.0.0.1:3000"
    assert tiles_dev_upstream(EnvReader({}), production=False) is None
    with pytest.raises(ConfigError):
        tiles_dev_upstream(env, production=True)
    with pytest.raises(ConfigError):
        tiles_dev_upstream(EnvReader({"TILES_DEV_UPSTREAM": "http://x/tiles"}), False)
