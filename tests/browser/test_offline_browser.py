"""The web client as a PWA in a real browser (Debian's chromium, headless) against the whole
stack (tests/browser/conftest.py; the Helsinki demo extract, (c) OpenStreetMap contributors,
ODbL): it is installable (Chromium's own installability check over the DevTools protocol,
the service worker controlling the page), and a walk the walker saved and opened opens and
draws again with the network gone: the shell, the saved list, the walk and its tiles come
from the service worker's caches (web/src/sw.ts). Logging out deletes the walker's caches.

Run alone: `bash scripts/web-build.sh && .venv/bin/pytest -m browser
tests/browser/test_offline_browser.py`. Screenshots land in tests/browser/artifacts/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright import sync_api as playwright_sync

from tests.browser.conftest import ARTIFACTS, CHROMIUM, shot, watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

ROUTE_DRAWN = "window.wildsideMap.queryRenderedFeatures({layers: ['route-line']}).length > 0"
STREETS_DRAWN = (
    "window.wildsideMap.queryRenderedFeatures({layers: ['streets', 'streets-major']}).length > 0"
)
CACHE_NAMES = "caches.keys()"
CACHED = "name => caches.open(name).then(cache => cache.keys()).then(keys => keys.length)"
# A GET the service worker handles network-first and has never cached: with a network it is
# the API's 404, without one the worker has nothing to fall back to and the fetch fails.
PROBE = (
    "fetch('/api/v1/routes/00000000-0000-4000-8000-000000000000')"
    ".then(response => response.status, () => 'offline')"
)


def wait_until(page, expression: str, timeout_ms: int = 30_000) -> None:
    """`page.wait_for_function` with polling from here: its in-page polling evaluates the
    expression as a string, which the app's CSP (no 'unsafe-eval') rightly refuses."""
    for _ in range(timeout_ms // 100):
        if page.evaluate(expression):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"not true after {timeout_ms} ms: {expression}")


def test_chromium_finds_the_app_installable(app_url: str, tmp_path: Path) -> None:
    """Chromium's own check (DevTools protocol): manifest, icons, service worker. A profile
    on disk (a persistent context), since Chromium installs nothing from an incognito one,
    which is what the `page` fixture's fresh contexts are."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright_sync.sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True
        )
        page = context.pages[0] if context.pages else context.new_page()
        errors = watch_errors(page)
        page.goto(app_url)
        page.evaluate("navigator.serviceWorker.ready")
        page.reload()
        assert page.evaluate("navigator.serviceWorker.controller !== null")
        cdp = context.new_cdp_session(page)
        installability = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        manifest = cdp.send("Page.getAppManifest")
        shot(page, "20-installable")
        context.close()
    assert installability == []
    assert manifest["errors"] == [], manifest["errors"]
    assert errors == []


def log_in_and_plan(page, expect) -> None:
    page.get_by_label("Username").first.fill("demo")
    page.get_by_label("Password").first.fill("wildside-demo")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Signed in as")).to_be_visible()
    themes = page.locator("input[name=theme]")
    expect(themes.first).to_be_visible()
    for index in range(themes.count()):
        themes.nth(index).uncheck()
    themes.nth(0).check()
    themes.nth(1).check()
    page.get_by_label("Duration (minutes)").fill("45")
    wait_until(page, "window.wildsideMap && window.wildsideMap.loaded()")
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator("#start-text")).to_contain_text("60.1")
    page.get_by_role("button", name="Ask for a walk").click()
    expect(page.get_by_role("heading", name="Your walk", exact=True)).to_be_visible(timeout=60_000)
    wait_until(page, ROUTE_DRAWN)


def test_installable_and_a_saved_walk_opens_offline(page) -> None:
    expect = playwright_sync.expect
    stops = page.get_by_role("list", name="Stops").get_by_role("listitem")

    # 1. The service worker installs and, after a reload, controls the page.
    assert page.evaluate("navigator.serviceWorker.ready.then(r => r.active.scriptURL)").endswith(
        "/sw.js"
    )
    page.reload()
    assert page.evaluate("navigator.serviceWorker.controller !== null")

    # 2. Plan a walk, save it, open it from the saved list (what the worker keeps).
    log_in_and_plan(page, expect)
    page.get_by_label("Name", exact=True).fill("Offline stroll")
    page.get_by_role("button", name="Save walk").click()
    expect(page.get_by_role("status")).to_contain_text("Saved as Offline stroll")
    page.locator("#saved-list").get_by_role("button", name="Open Offline stroll").click()
    expect(page.get_by_role("status")).to_contain_text("Showing Offline stroll")
    wait_until(page, ROUTE_DRAWN)
    wait_until(page, "window.wildsideMap.areTilesLoaded()")
    online_stops = stops.count()
    assert online_stops >= 1
    assert page.evaluate(f"({CACHED})('wildside-tiles')") > 0  # MapLibre's tiles, via the worker
    assert page.evaluate(f"({CACHED})('wildside-data')") > 0
    shot(page, "21-opened-online")

    # 3. The network goes; the page is reloaded: the shell, the walker and the saved list
    # come from the caches, and the saved walk opens and draws with its stops and tiles.
    page.context.set_offline(True)
    assert page.evaluate(PROBE) == "offline"  # the worker's own fetches are offline too
    page.reload()
    expect(page.get_by_text("Signed in as")).to_be_visible()
    saved = page.locator("#saved-list").get_by_role("button", name="Open Offline stroll")
    expect(saved).to_be_visible()
    wait_until(page, "window.wildsideMap && window.wildsideMap.loaded()")
    saved.click()
    expect(page.get_by_role("status")).to_contain_text("Showing Offline stroll")
    expect(page.get_by_role("heading", name="Your walk", exact=True)).to_be_visible()
    expect(stops.first).to_be_visible()
    assert stops.count() == online_stops
    wait_until(page, ROUTE_DRAWN)
    wait_until(page, STREETS_DRAWN)  # the tiles seen online, from the cache
    expect(page.get_by_role("alert")).to_be_hidden()
    shot(page, "22-opened-offline")

    # 4. Back online, log out: the walker's cached API reads and tiles are deleted (the
    # shell stays); nothing from the session is read back from the caches.
    page.context.set_offline(False)
    assert page.evaluate(PROBE) == 404
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    names = page.evaluate(CACHE_NAMES)
    assert "wildside-data" not in names and "wildside-tiles" not in names, names
    assert any(name.startswith("wildside-shell-") for name in names), names
    assert page.evaluate("fetch('/api/v1/users/me').then(r => r.status)") == 401
    shot(page, "23-logged-out")


def test_other_requests_are_never_cached(page) -> None:
    """Only the walker's reads are kept: a login (POST) and an unlisted GET are not."""
    expect = playwright_sync.expect
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    page.get_by_label("Username").first.fill("demo")
    page.get_by_label("Password").first.fill("wildside-demo")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Signed in as")).to_be_visible()
    assert page.evaluate("fetch('/health/live').then(r => r.status)") == 200
    cached = page.evaluate(
        "caches.open('wildside-data').then(c => c.keys()).then(ks => ks.map(k => k.url))"
    )
    paths = sorted(url.split("/", 3)[3] for url in cached)
    assert "api/v1/users/me" in paths and "api/v1/interest-themes" in paths, paths
    assert all(path.startswith("api/v1/") for path in paths), paths
    assert "api/v1/login" not in paths and "health/live" not in paths, paths
