"""The rest of the walker's steps in a real browser (see test_walker_browser.py for the
stack): a new walker signs up, plans a walk ending elsewhere, opens a stop's details, finds
the walk among the recent ones, saves and deletes it, and deletes the account; axe-core
checks every screen on the way, errors included. With the keyboard alone, the demo walker
does login -> plan -> ask -> cancel -> log out, and a new walker every other action: sign up,
a stop's details, save, another walk, open a recent and the saved walk, delete it, leave.

Each walker is its own account: the stack allows 2 walk requests a minute per walker.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright import sync_api as playwright_sync

from tests.browser.conftest import axe_violations, shot, tab_to

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
expect = playwright_sync.expect
PASSWORD = "a quiet walk by the sea"


class HeldStatus:
    """Relays the page's /ws socket to the gateway, holding back the server's frames while
    `held`: the progress screen stays up for as long as a check of it takes."""

    def __init__(self, page) -> None:
        self.held = False
        self.frames: list[str | bytes] = []
        page.route_web_socket("**/ws", self.relay)

    def relay(self, socket) -> None:
        server = socket.connect_to_server()
        self.page_side = socket
        socket.on_message(server.send)
        server.on_message(self.from_server)

    def from_server(self, frame: str | bytes) -> None:
        if self.held:
            self.frames.append(frame)
        else:
            self.page_side.send(frame)

    def release(self) -> None:
        self.held = False
        for frame in self.frames:
            self.page_side.send(frame)
        self.frames.clear()


def test_sign_up_plan_details_recent_saved_and_leave(page) -> None:
    held = HeldStatus(page)
    found: dict[str, list[str]] = {}
    username = f"walker-{uuid.uuid4().hex[:10]}"

    # Sign up: a weak password is refused in words, then the account is made and logged in.
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    found["login"] = axe_violations(page)
    page.get_by_text("New here? Sign up").click()
    signup = page.locator("#signup-form")
    signup.get_by_label("Username").fill(username)
    signup.get_by_label("Display name").fill("Ada Walker")
    signup.get_by_label("Password (at least 10 characters)").fill("password12")
    found["sign-up"] = axe_violations(page)
    signup.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("alert")).to_contain_text("password")
    found["sign-up refused"] = axe_violations(page)
    shot(page, "20-signup-refused")
    signup.get_by_label("Password (at least 10 characters)").fill(PASSWORD)
    signup.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text("Signed in as Ada Walker")).to_be_visible()
    expect(page.get_by_role("alert")).to_be_hidden()

    # Plan: a theme, the start at the map centre, the end tapped on the map.
    themes = page.locator("input[name=theme]")
    expect(themes.first).to_be_visible()
    themes.nth(0).check()
    page.get_by_role("button", name="Ask for a walk").click()  # no start yet: said in words
    expect(page.get_by_role("alert")).to_contain_text("Choose where the walk starts")
    found["plan, no start"] = axe_violations(page)
    page.wait_for_function("() => window.wildsideMap && window.wildsideMap.loaded()")
    page.get_by_role("button", name="Start at the map centre").click()
    expect(page.locator("#start-text")).to_contain_text("60.1")
    page.get_by_role("radio", name="the end").check()
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.45)
    expect(page.locator("#end-text")).to_contain_text("60.1")
    assert page.locator(".end-marker").count() == 1
    found["plan"] = axe_violations(page)
    shot(page, "21-plan-with-end")

    # Ask: the progress screen (held up by holding the socket's frames), then the walk.
    held.held = True
    page.get_by_role("button", name="Ask for a walk").click()
    expect(page.get_by_role("heading", name="Finding your walk")).to_be_visible()
    found["progress"] = axe_violations(page)
    shot(page, "22-progress")
    held.release()
    expect(page.get_by_role("heading", name="Your walk", exact=True)).to_be_visible(timeout=60_000)
    stops = page.get_by_role("list", name="Stops").get_by_role("button")
    expect(stops.first).to_be_visible()
    assert "arrive after" in stops.first.inner_text()
    found["walk"] = axe_violations(page)

    # A stop's details, read from /api/v1/pois/{id}.
    name = stops.first.locator("strong").inner_text()
    stops.first.click()
    details = page.locator("#stop-details")
    expect(details.get_by_role("heading")).to_contain_text(f"Stop 1: {name}")
    expect(details.get_by_role("link", name="See it on OpenStreetMap")).to_have_attribute(
        "href", re.compile(r"^https://www\.openstreetmap\.org/(node|way|relation)/\d+$")
    )
    expect(details).to_contain_text("OpenStreetMap contributors")
    found["stop details"] = axe_violations(page)
    shot(page, "23-stop-details")
    page.get_by_role("button", name="Back to the stops").click()
    expect(details).to_be_hidden()
    expect(stops.first).to_be_focused()  # back where the walker was
    # A tap on the stop's marker opens the same details, and does not move the start.
    start = page.locator("#start-text").inner_text()
    page.locator(".stop-marker").first.click()
    expect(details.get_by_role("heading")).to_contain_text(f"Stop 1: {name}")
    expect(page.locator("#start-text")).to_have_text(start)

    # Save it; it is among the saved and the recent walks. Another walk (a new seed), then
    # the first opened again from the recent ones.
    page.get_by_label("Name", exact=True).fill("Sea and stones")
    page.get_by_role("button", name="Save walk").click()
    expect(page.get_by_role("button", name="Open Sea and stones")).to_be_visible()
    recent = page.locator("#recent-list").get_by_role("button")
    expect(recent).to_have_count(1)
    first_summary = page.locator("#walk-summary").inner_text()
    page.get_by_role("button", name="Another walk").click()
    expect(page.get_by_role("status")).to_contain_text("Your walk is ready", timeout=60_000)
    expect(recent).to_have_count(2)
    recent.last.click()  # newest first: the last is the first walk
    expect(page.get_by_role("status")).to_contain_text("Showing a recent walk")
    expect(page.locator("#walk-summary")).to_have_text(first_summary)
    found["saved and recent"] = axe_violations(page)
    shot(page, "24-saved-and-recent")

    # Delete the saved walk.
    page.get_by_role("button", name="Delete Sea and stones").click()
    expect(page.locator("#saved-list")).to_have_text("No saved walks yet.")
    assert (
        page.evaluate("fetch('/api/v1/saved-routes').then(r => r.json()).then(b => b.data.length)")
        == 0
    )

    # Delete the account: the password is asked again; a wrong one is refused in words.
    page.get_by_text("Delete my account", exact=True).click()
    page.get_by_label("Your password, to confirm").fill("not the password")
    page.get_by_role("button", name="Delete my account for good").click()
    expect(page.get_by_role("alert")).to_contain_text("password")
    found["leave refused"] = axe_violations(page)
    page.get_by_label("Your password, to confirm").fill(PASSWORD)
    page.get_by_role("button", name="Delete my account for good").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("account and everything in it are deleted")
    assert page.evaluate("fetch('/api/v1/users/me').then(r => r.status)") == 401

    # The account is gone: logging in to it is refused in words.
    page.get_by_label("Username").first.fill(username)
    page.get_by_label("Password").first.fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    found["login refused"] = axe_violations(page)
    shot(page, "25-account-deleted")
    assert {screen: seen for screen, seen in found.items() if seen} == {}


def test_keyboard_alone_logs_in_plans_asks_and_cancels(page) -> None:
    """No mouse: Tab to a control, type, Enter."""
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.wait_for_function("() => window.wildsideMap && window.wildsideMap.loaded()")
    tab_to(page, "Username")
    page.keyboard.type("demo")
    tab_to(page, "Password")
    page.keyboard.type("wildside-demo")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Signed in as")).to_be_visible()
    # Focus is on the plan's heading: the themes, the duration and the start follow it.
    expect(page.get_by_role("heading", name="Plan a walk")).to_be_focused()
    page.keyboard.press("Tab")
    first_theme = page.locator("input[name=theme]").first
    expect(first_theme).to_be_focused()
    checked = first_theme.is_checked()
    page.keyboard.press("Space")
    assert first_theme.is_checked() is not checked
    tab_to(page, "Duration (minutes)")
    page.keyboard.press("Control+A")
    page.keyboard.type("30")
    tab_to(page, "Start at the map centre")
    page.keyboard.press("Enter")
    expect(page.locator("#start-text")).to_contain_text("60.1")
    tab_to(page, "Ask for a walk")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Finding your walk")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Cancel", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Walk cancelled", timeout=30_000)
    expect(page.locator("#progress-box")).to_be_hidden()
    expect(page.get_by_role("heading", name="Plan a walk")).to_be_focused()
    # The cancelled walk is listed among the recent ones (not openable: it has no route).
    expect(page.locator("#recent-list")).to_contain_text("cancelled")
    assert axe_violations(page) == []
    shot(page, "30-keyboard-cancelled")
    # Log out: the header's button, back from the plan's heading.
    tab_to(page, "Log out", backwards=True)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert page.evaluate("fetch('/api/v1/users/me').then(r => r.status)") == 401


def test_keyboard_alone_signs_up_saves_opens_deletes_and_leaves(page) -> None:
    """No mouse, a new walker: sign up, plan, a stop's details, save with a name, another
    walk (a new seed), open a recent and the saved walk, delete it, delete the account."""
    username = f"keys-{uuid.uuid4().hex[:10]}"
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.wait_for_function("() => window.wildsideMap && window.wildsideMap.loaded()")
    tab_to(page, "New here? Sign up")
    page.keyboard.press("Enter")  # opens the sign-up form
    page.keyboard.press("Tab")
    expect(page.locator("#signup-username")).to_be_focused()
    page.keyboard.type(username)
    tab_to(page, "Display name")
    page.keyboard.type("Key Walker")
    tab_to(page, "Password (at least 10 characters)")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_text("Signed in as Key Walker")).to_be_visible()
    expect(page.get_by_role("heading", name="Plan a walk")).to_be_focused()

    # Plan and ask; the walk arrives with the focus on its heading.
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    expect(page.locator("input[name=theme]").first).to_be_checked()
    tab_to(page, "Start at the map centre")
    page.keyboard.press("Enter")
    expect(page.locator("#start-text")).to_contain_text("60.1")
    tab_to(page, "Ask for a walk")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your walk", exact=True)).to_be_focused(timeout=60_000)

    # A stop's details, and back to its line in the list.
    stops = page.get_by_role("list", name="Stops").get_by_role("button")
    page.keyboard.press("Tab")
    expect(stops.first).to_be_focused()
    name = stops.first.locator("strong").inner_text()
    page.keyboard.press("Enter")
    expect(page.locator("#stop-title")).to_be_focused()
    expect(page.locator("#stop-title")).to_contain_text(f"Stop 1: {name}")
    tab_to(page, "Back to the stops")
    page.keyboard.press("Enter")
    expect(stops.first).to_be_focused()

    # Save it with a name.
    tab_to(page, "Name")
    page.keyboard.type("Keyboard walk")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Saved as Keyboard walk")
    first_summary = page.locator("#walk-summary").inner_text()

    # Another walk (a new seed), then the first one opened from the recent walks.
    tab_to(page, "Another walk", backwards=True)
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Your walk is ready", timeout=60_000)
    recent = page.locator("#recent-list").get_by_role("button")
    expect(recent).to_have_count(2)
    tab_to(page, "Open the walk of", prefix=True)
    expect(recent.first).to_be_focused()  # newest first: the next is the first walk
    page.keyboard.press("Tab")
    expect(recent.last).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Showing a recent walk")
    expect(page.locator("#walk-summary")).to_have_text(first_summary)

    # The saved walk opened, then deleted.
    tab_to(page, "Open Keyboard walk")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Showing Keyboard walk")
    tab_to(page, "Delete Keyboard walk")
    page.keyboard.press("Enter")
    expect(page.locator("#saved-list")).to_have_text("No saved walks yet.")
    # The deleted entry's button is gone: the focus is on the list's heading, not lost.
    expect(page.get_by_role("heading", name="Saved walks")).to_be_focused()

    # Delete the account.
    tab_to(page, "Delete my account")
    page.keyboard.press("Enter")  # opens the confirmation
    tab_to(page, "Your password, to confirm")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Log in")).to_be_focused()
    expect(page.get_by_role("status")).to_contain_text("account and everything in it are deleted")
    assert page.evaluate("fetch('/api/v1/users/me').then(r => r.status)") == 401
    shot(page, "31-keyboard-left")


def test_the_start_at_the_devices_location(page) -> None:
    """ "Start at my location": refused (no permission) it is said in words; allowed, the
    device's position becomes the start and the map moves there."""
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Username").first.fill("demo")
    page.get_by_label("Password").first.fill("wildside-demo")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Signed in as")).to_be_visible()
    page.wait_for_function("() => window.wildsideMap && window.wildsideMap.loaded()")
    page.context.clear_permissions()
    page.get_by_role("button", name="Start at my location").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Your location is not available; use the map instead."
    )
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 60.1712, "longitude": 24.9415})
    page.get_by_role("button", name="Start at my location").click()
    expect(page.locator("#start-text")).to_have_text("60.17120, 24.94150")
    expect(page.get_by_role("alert")).to_be_hidden()
    centre = page.evaluate("window.wildsideMap.getCenter().toArray()")
    assert [round(centre[0], 4), round(centre[1], 4)] == [24.9415, 60.1712]
    assert page.locator(".start-marker").count() == 1
    shot(page, "32-my-location")
