"""The web client's build at `/` through `bootstrap.gateway_app`: caching headers, the
app's CSP (and the API's stricter one), 404 for missing files and for paths leaving the
build, the API's own 404/405 untouched, and WEB_DIST_DIR's validation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from wildside_common.config import ConfigError, EnvReader
from wildside_gateway.bootstrap import gateway_app
from wildside_gateway.config import web_dist_dir
from wildside_gateway.shared.adapters.inbound.webapp import app_csp, web_routes
from wildside_gateway.shared.domain.origins import AllowedOrigins

pytestmark = pytest.mark.unit

PUBLIC = "https://wildside.test"
INDEX = "<!doctype html><title>Wildside</title><script src=/assets/app-3f2a.js></script>"
ASSET = "console.log('wildside')"
WORKER = "self.addEventListener('fetch', () => {})"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    build = tmp_path / "dist"
    (build / "assets").mkdir(parents=True)
    (build / "index.html").write_text(INDEX)
    (build / "assets" / "app-3f2a.js").write_text(ASSET)
    (build / "manifest.webmanifest").write_text("{}")
    (build / "sw.js").write_text(WORKER)
    (tmp_path / "secret.txt").write_text("outside the build")
    return build


@pytest.fixture
async def client(dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    async def me(request: Request) -> JSONResponse:
        return JSONResponse({"id": "me"})

    routes = [Route("/api/v1/users/me", me, methods=["GET"]), *web_routes(dist, PUBLIC)]
    app = gateway_app(routes, AllowedOrigins.parse([PUBLIC]), PUBLIC)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
        yield http


async def test_index_at_the_root_is_revalidated_under_the_app_csp(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/", "/index.html"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.text == INDEX
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["content-security-policy"] == app_csp(PUBLIC)
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_hashed_assets_are_immutable_for_a_year(client: httpx.AsyncClient) -> None:
    response = await client.get("/assets/app-3f2a.js")
    assert response.status_code == 200
    assert response.text == ASSET
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "javascript" in response.headers["content-type"]
    other = await client.get("/manifest.webmanifest")
    assert other.status_code == 200
    assert other.headers["cache-control"] == "no-cache"


async def test_the_service_worker_is_revalidated_under_the_app_csp(
    client: httpx.AsyncClient,
) -> None:
    """A cached /sw.js would keep an old build's worker (and its precache list) alive."""
    response = await client.get("/sw.js")
    assert response.status_code == 200
    assert response.text == WORKER
    assert "javascript" in response.headers["content-type"]
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-security-policy"] == app_csp(PUBLIC)


def test_the_app_csp_allows_what_maplibre_needs_and_nothing_else() -> None:
    directives = dict(
        (part.split(" ", 1)[0], part.split(" ", 1)[1]) for part in app_csp(PUBLIC).split("; ")
    )
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["worker-src"] == "'self' blob:"  # the service worker, MapLibre's
    assert directives["child-src"] == "blob:"
    assert directives["img-src"] == "'self' data: blob:"
    assert directives["connect-src"] == "'self' wss://wildside.test"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in app_csp(PUBLIC)
    assert "unsafe-eval" not in app_csp(PUBLIC)
    assert "ws://127.0.0.1:8080" in app_csp("http://127.0.0.1:8080")


async def test_the_api_keeps_its_stricter_csp_and_no_store(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/users/me")
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert response.headers["cache-control"] == "no-store"


async def test_a_missing_file_is_404(client: httpx.AsyncClient) -> None:
    for path in ("/assets/gone-0000.js", "/nothing.html"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "cache-control" not in response.headers or (
            response.headers["cache-control"] != "public, max-age=31536000, immutable"
        )


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt",
        "/..%5csecret.txt",
    ],
)
async def test_no_path_leaves_the_build(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert "outside the build" not in response.text
    assert response.status_code in (400, 404)


async def test_a_symlink_out_of_the_build_is_not_followed(
    client: httpx.AsyncClient, dist: Path
) -> None:
    (dist / "leak.txt").symlink_to(dist.parent / "secret.txt")
    response = await client.get("/leak.txt")
    assert response.status_code == 404
    assert "outside the build" not in response.text


async def test_api_paths_keep_their_own_404_and_405(client: httpx.AsyncClient) -> None:
    unknown = await client.get("/api/v1/nothing-here")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/json")
    wrong_method = await client.delete("/api/v1/users/me")
    assert wrong_method.status_code == 405
    posted = await client.post("/index.html", headers={"Origin": PUBLIC})
    assert posted.status_code in (404, 405)
    assert posted.text != INDEX


async def test_without_a_build_nothing_is_served_at_the_root() -> None:
    app = gateway_app(web_routes(None, PUBLIC), AllowedOrigins.parse([PUBLIC]), PUBLIC)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
        assert (await http.get("/")).status_code == 404


def test_web_dist_dir_must_hold_an_index(dist: Path, tmp_path: Path) -> None:
    assert web_dist_dir(EnvReader({})) is None
    assert web_dist_dir(EnvReader({"WEB_DIST_DIR": str(dist)})) == dist.resolve()
    with pytest.raises(ConfigError, match="WEB_DIST_DIR"):
        web_dist_dir(EnvReader({"WEB_DIST_DIR": str(tmp_path / "missing")}))
