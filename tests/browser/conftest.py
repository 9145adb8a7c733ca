"""Fixtures of the browser suite: the whole stack serving the built web client (started once
per module), and a page of Debian's chromium (headless, Playwright's Python package) that fails
its test on any uncaught script error or Content-Security-Policy refusal.

Screenshots land in tests/browser/artifacts/ (gitignored)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright import sync_api as playwright_sync

from tests.e2e import stack
from tests.e2e.test_tiles_dev_e2e import started
from tests.e2e.test_walking_skeleton import base
from wildside_common.testing.demo_data import as_role, load_demo_extract
from wildside_common.testing.servers import unique_prefix

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "web" / "dist"
ARTIFACTS = ROOT / "tests" / "browser" / "artifacts"
CHROMIUM = os.environ.get("WILDSIDE_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"  # pinned in web/package.json


@pytest.fixture(scope="module")
def app_url(database_url: str, nats_url: str, redis_url: str) -> Iterator[str]:
    if not (DIST / "index.html").is_file():
        pytest.fail("web/dist is not built: run `make browser` (scripts/web-build.sh)")
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        pytest.fail(f"no browser at {CHROMIUM}: run `bash scripts/system-deps.sh --browser`")
    load_demo_extract(database_url)
    env = stack.base_env(
        database_url,
        nats_url,
        redis_url,
        {
            "REDIS_PREFIX": unique_prefix(),
            "RATE_LIMIT_PER_MINUTE": "2",
            "ROUTER_SIMULATED_WORK_SECONDS": "1.5",
            "ROUTER_ACK_WAIT_SECONDS": "10",
        },
    )
    stack.create_dev_accounts(env)
    tiles_env = {
        **env,
        "DATABASE_URL": as_role(database_url, "tiles_auth_ro"),
        "TILES_DATABASE_URL": as_role(database_url, "martin_ro"),
    }
    tiles = started(stack.tiles_dev, tiles_env)
    gateway = started(
        stack.gateway, {**env, "TILES_DEV_UPSTREAM": base(tiles), "WEB_DIST_DIR": str(DIST)}
    )
    router = started(stack.router, env)
    try:
        yield base(gateway)
    finally:
        for service in (router, gateway, tiles):
            service.stop()


def watch_errors(page: Any) -> list[str]:
    """The page's uncaught script errors and Content-Security-Policy refusals (a console
    error: the app's CSP must allow everything the app does, MapLibre's blob: workers, the
    tiles, the socket), collected as they happen; a test ends asserting the list empty."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return errors


@pytest.fixture
def page(app_url: str) -> Iterator[object]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright_sync.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        errors = watch_errors(page)
        page.goto(app_url)
        yield page
        page.screenshot(path=str(ARTIFACTS / "99-last.png"))  # where it ended, failed or not
        context.close()
        browser.close()
        assert errors == [], errors  # no uncaught script error (a CSP refusal included)


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def axe_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now ("id (impact):
    the first offending element"). axe is evaluated through the DevTools protocol, which the
    app's Content-Security-Policy does not govern, so the page keeps its CSP."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['nodes'][0]['target']}"
        for violation in result["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def tab_to(
    page, name: str, presses: int = 60, *, backwards: bool = False, prefix: bool = False
) -> None:
    """Press Tab (Shift+Tab when `backwards`) until the focused element's accessible text
    is `name` (or starts with it, when `prefix`): the keyboard's way to a control; fails
    when it is not reached."""
    for _ in range(presses):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        focused = page.evaluate(
            "(() => { const e = document.activeElement;"
            " return e ? (e.getAttribute('aria-label') || e.labels?.[0]?.textContent"
            " || e.textContent || '').trim() : ''; })()"
        )
        if focused == name or (prefix and focused.startswith(name)):
            return
    raise AssertionError(f"Tab never reached {name!r}")
