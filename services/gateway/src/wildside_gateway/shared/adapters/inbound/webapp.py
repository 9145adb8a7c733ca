"""The web client's built files (`web/dist`, WEB_DIST_DIR) at `/`, after every API route.

- `/` and `/index.html`: the app's page, `Cache-Control: no-cache` (revalidated each
  load, so a new build is picked up at once).
- `/assets/*`: Vite's content-hashed files, `Cache-Control: public, max-age=31536000,
  immutable` (a new build has new names).
- any other file in the build (icons, manifest, the service worker `/sw.js`): `no-cache`,
  so the browser checks the service worker on each navigation and a new build's worker
  (with its new precache list) is installed at once.
- a missing file is 404 (the error envelope); a path leaving the build directory (`..`,
  encoded or not, a symlink out of it) is 404 too: Starlette's `StaticFiles` resolves
  and checks every path against its directory.

Every app response carries `APP_CSP`, the policy the page needs and nothing more:
scripts, styles and connections to its own origin only (the API, the tiles on the same
origin and the `/ws` socket; `'self'` covers ws(s) of the same origin in CSP Level 3,
older browsers get the explicit socket origin added by `WebApp`), workers from the origin
(the service worker) and from blob: URLs (MapLibre's), images from the origin, data: and
blob:. The service worker gets the same policy with its script, so its own fetches are
held to the origin too. The API's responses keep the
shared `frame-ancestors 'none'` policy (`wildside_common.http`).
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
HASHED_PREFIX = "assets/"
# The API's paths never reach the app: their 404s and 405s stay the API's.
RESERVED_PREFIXES = ("/api/", "/tiles", "/ws", "/health", "/openapi", "/asyncapi")
READ_METHODS = frozenset({"GET", "HEAD"})


def app_csp(public_base_url: str) -> str:
    """The Content-Security-Policy of the app's files (see the module docstring)."""
    socket = "wss://" + public_base_url.removeprefix("https://").removeprefix("http://")
    if public_base_url.startswith("http://"):
        socket = "ws://" + public_base_url.removeprefix("http://")
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "font-src 'self'",
            f"connect-src 'self' {socket}",
            "worker-src 'self' blob:",
            "child-src blob:",
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class WebApp(StaticFiles):
    """`StaticFiles` with the app's caching and CSP headers, `index.html` at the root."""

    def __init__(self, directory: Path, csp: str) -> None:
        super().__init__(directory=directory, html=True, check_dir=True)
        self.csp = csp

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code < 400:
            hashed = path.replace("\\", "/").startswith(HASHED_PREFIX)
            response.headers["Cache-Control"] = IMMUTABLE if hashed else REVALIDATE
            response.headers["Content-Security-Policy"] = self.csp
        return response


class WebMount(Mount):
    """Mount at `/` that matches only GET/HEAD outside the API's prefixes: a wrong method
    on an API path stays that route's 405, an unknown API path the router's 404."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope["method"] not in READ_METHODS:
            return Match.NONE, {}
        if str(scope["path"]).startswith(RESERVED_PREFIXES):
            return Match.NONE, {}
        return super().matches(scope)


def web_routes(directory: Path | None, public_base_url: str) -> list[BaseRoute]:
    """The app at `/` when WEB_DIST_DIR names a build, else nothing."""
    if directory is None:
        return []
    return [WebMount("/", app=WebApp(directory, app_csp(public_base_url)), name="web")]
