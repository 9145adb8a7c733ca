"""The web client in a real browser (Debian's chromium, headless, driven by Playwright's
Python package; no browser download) against the whole stack: the gateway serving the
built app (WEB_DIST_DIR) and relaying /tiles to the development tile server, the router
(with simulated work, so progress is seen) over the Helsinki demo extract
((c) OpenStreetMap contributors, ODbL).

A walker logs in, chooses themes and a duration, taps the start, asks for a walk, sees
the progress bar, the route drawn with numbered stops and the stop list, saves it, sees
it listed, asks again until the rate limit's 429 is shown in words, and logs out.
Screenshots of each step land in tests/browser/artifacts/ (gitignored).

Run alone: `make browser` (builds web/dist, installs chromium with apt when missing).
"""

from __future__ import annotations

import re

import pytest
from playwright import sync_api as playwright_sync

from tests.browser.conftest import axe_violations, shot

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def test_a_walker_plans_saves_and_logs_out(page) -> None:
    expect = playwright_sync.expect
    # 1. Log in.
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Username").first.fill("demo")
    page.get_by_label("Password").first.fill("wildside-demo")
    shot(page, "01-login")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Signed in as")).to_be_visible()
    # The map shows the tiles' attribution.
    expect(page.locator(".maplibregl-ctrl-attrib")).to_contain_text("© OpenStreetMap contributors")

    # 2. Choose themes (from /api/v1/interest-themes) and a duration.
    themes = page.locator("input[name=theme]")
    expect(themes.first).to_be_visible()
    assert themes.count() >= 2
    for index in range(themes.count()):
        themes.nth(index).uncheck()
    themes.nth(0).check()
    themes.nth(1).check()
    page.get_by_label("Duration (minutes)").fill("45")
    shot(page, "02-themes")

    # 3. Tap the start on the map (its centre: the Helsinki demo extract).
    page.wait_for_function("window.wildsideMap && window.wildsideMap.loaded()")
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator("#start-text")).to_contain_text("60.1")
    shot(page, "03-start")

    # 4. Ask: the progress bar, driven over /ws, then the route and its stops.
    page.get_by_role("button", name="Ask for a walk").click()
    expect(page.get_by_role("heading", name="Finding your walk")).to_be_visible()
    expect(page.get_by_role("button", name="Cancel", exact=True)).to_be_visible()
    shot(page, "04-progress")
    expect(page.get_by_role("heading", name="Your walk", exact=True)).to_be_visible(timeout=60_000)
    stops = page.get_by_role("list", name="Stops").get_by_role("listitem")
    expect(stops.first).to_be_visible()
    assert stops.count() >= 1
    assert page.locator(".stop-marker").count() == stops.count()
    assert page.locator(".stop-marker").first.inner_text() == "1"
    # The line is on the map: rendered features of the route layer.
    page.wait_for_function(
        "window.wildsideMap.queryRenderedFeatures({layers: ['route-line']}).length > 0"
    )
    expect(page.locator("#progress-box")).to_be_hidden()
    # The base and the POI tiles from /tiles are drawn (rendered features of their layers).
    for layers in ("['streets', 'streets-major']", "['pois']"):
        page.wait_for_function(
            f"window.wildsideMap.queryRenderedFeatures({{layers: {layers}}}).length > 0"
        )
    shot(page, "05-route")

    # 5. Save it with a name; it is listed.
    page.get_by_label("Name", exact=True).fill("Harbour stroll")
    page.get_by_role("button", name="Save walk").click()
    expect(page.get_by_role("status")).to_contain_text("Saved as Harbour stroll")
    expect(page.locator("#saved-list")).to_contain_text("Harbour stroll")
    shot(page, "06-saved")

    # 6. Another walk (a new seed) uses the second request of the minute; the socket drops
    # while it is planned, reconnects and resubscribes, and the walk still arrives. The
    # third request is refused with 429, shown in words.
    page.get_by_role("button", name="Another walk").click()
    expect(page.get_by_role("status")).to_contain_text("Looking for your walk")
    page.evaluate("window.wildsideSocket.drop()")
    # The drop is said in words ("Connection lost; reconnecting…" until the socket is back,
    # then "Reconnected."), never a silent wait.
    expect(page.get_by_role("status")).to_contain_text(
        re.compile("Connection lost; reconnecting|Reconnected")
    )
    expect(page.get_by_role("status")).to_contain_text("Your walk is ready", timeout=60_000)
    expect(page.get_by_role("alert")).to_be_hidden()
    expect(page.get_by_role("heading", name="Your walk", exact=True)).to_be_visible()
    page.get_by_role("button", name="Another walk").click()
    expect(page.get_by_role("alert")).to_contain_text("Too many requests")
    assert axe_violations(page) == []  # the error screen too
    shot(page, "07-rate-limited")

    # 7. Log out: back to the login form, the session gone.
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert page.evaluate("fetch('/api/v1/users/me').then(r => r.status)") == 401
    shot(page, "08-logged-out")
    # The app can be installed: its manifest names it (the PWA: test_offline_browser.py).
    manifest = page.evaluate("fetch('/manifest.webmanifest').then(r => r.json())")
    assert manifest["name"] == "Wildside" and manifest["start_url"] == "/"


def test_no_serious_or_critical_accessibility_violations(page) -> None:
    """axe-core on the login page and the planning page (every other screen:
    test_walker_journey_browser.py)."""
    found: dict[str, list[str]] = {}
    playwright_sync.expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    found["login"] = axe_violations(page)
    page.get_by_label("Username").first.fill("demo")
    page.get_by_label("Password").first.fill("wildside-demo")
    page.get_by_role("button", name="Log in").click()
    playwright_sync.expect(page.locator("input[name=theme]").first).to_be_visible()
    found["plan"] = axe_violations(page)
    shot(page, "10-axe-plan")
    assert found == {"login": [], "plan": []}
