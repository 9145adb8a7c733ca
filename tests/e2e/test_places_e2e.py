"""Places through the running gateway over the Helsinki demo extract
(data/helsinki-centre.osm.pbf, (c) OpenStreetMap contributors, ODbL, loaded with
`ingest-osm`): the listing in a box, its pages, its filters and refusals, one place."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e import stack
from tests.e2e.test_walking_skeleton import base
from wildside_common.testing.demo_data import load_demo_extract

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
CENTRE = "24.935,60.163,24.955,60.175"  # the Esplanadi, the market square, the cathedral
SMALL = "24.948,60.167,24.954,60.171"  # fewer than 200 places: one page holds them all


@pytest.fixture(scope="module")
def helsinki(database_url: str) -> Iterator[str]:
    yield load_demo_extract(
        database_url, "--source-url", "https://download.geofabrik.de/europe/finland.html"
    )


def get(gateway: stack.Service, path: str, user: str | None = "demo", **params: Any):
    headers = stack.auth(gateway, user) if user else {}
    return httpx.get(f"{base(gateway)}{path}", params=params, headers=headers, timeout=10)


def listing(gateway: stack.Service, **params: Any) -> dict[str, Any]:
    response = get(gateway, "/api/v1/pois", **params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_places_need_a_session(gateway: stack.Service, helsinki: str) -> None:
    for path in ("/api/v1/pois?bbox=" + CENTRE, "/api/v1/pois/n1", "/api/v1/pois?bbox=x"):
        response = httpx.get(f"{base(gateway)}{path}", timeout=10)
        assert response.status_code == 401, path
        assert response.json()["code"] == "unauthorized"
    bad = {"Authorization": "Bearer not-a-token"}
    assert httpx.get(f"{base(gateway)}/api/v1/pois/n1", headers=bad, timeout=10).status_code == 401


def test_the_box_lists_its_places_most_popular_first(gateway, helsinki) -> None:
    page = listing(gateway, bbox=CENTRE, limit=200)
    places = page["data"]
    assert len(places) > 20 and page["limit"] == 200
    west, south, east, north = (float(v) for v in CENTRE.split(","))
    for place in places:
        assert set(place) == {"id", "osm", "name", "lat", "lng", "themes", "popularity"}
        assert west <= place["lng"] <= east and south <= place["lat"] <= north
        assert place["osm"]["url"].endswith(f"/{place['osm']['type']}/{place['osm']['id']}")
    ranks = [place["popularity"] for place in places]
    assert ranks == sorted(ranks, reverse=True) and ranks[0] > ranks[-1]


def test_pages_follow_links_to_every_place_once(gateway, helsinki) -> None:
    whole = [place["id"] for place in listing(gateway, bbox=SMALL, limit=200)["data"]]
    seen: list[str] = []
    page = listing(gateway, bbox=SMALL, limit=7)
    assert page["links"]["prev"] is None
    while True:
        seen.extend(place["id"] for place in page["data"])
        if page["links"]["next"] is None:
            break
        assert page["links"]["next"].startswith(base(gateway))
        assert "bbox=" in page["links"]["next"]
        response = httpx.get(page["links"]["next"], headers=stack.auth(gateway), timeout=10)
        assert response.status_code == 200
        page = response.json()
    assert seen == whole[: len(seen)] and len(seen) == len(whole) < 200
    back = httpx.get(page["links"]["prev"], headers=stack.auth(gateway), timeout=10).json()
    assert [place["id"] for place in back["data"]] == seen[
        -len(page["data"]) - 7 : -len(page["data"])
    ]


def test_themes_keep_the_places_having_any_of_them(gateway, helsinki) -> None:
    history = listing(gateway, bbox=SMALL, themes="history", limit=200)["data"]
    food = listing(gateway, bbox=SMALL, themes="food", limit=200)["data"]
    either = listing(gateway, bbox=SMALL, themes="food,history", limit=200)["data"]
    assert history and food
    assert all("history" in place["themes"] for place in history)
    assert all("food" in place["themes"] for place in food)
    assert {p["id"] for p in either} == {p["id"] for p in history} | {p["id"] for p in food}


def test_another_user_sees_the_same_places(gateway, helsinki) -> None:
    demo = listing(gateway, bbox=CENTRE, limit=20)["data"]
    admin = get(gateway, "/api/v1/pois", user="admin", bbox=CENTRE, limit=20)
    assert admin.status_code == 200 and admin.json()["data"] == demo
    one = get(gateway, f"/api/v1/pois/{demo[0]['id']}", user="admin")
    assert one.status_code == 200 and one.json()["id"] == demo[0]["id"]


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({}, "bbox", None),
        ({"bbox": "24.93,60.16,24.96"}, "bbox", None),
        ({"bbox": "24.96,60.16,24.93,60.18"}, "bbox", None),
        ({"bbox": "24.93,60.16,24.96,nan"}, "bbox", None),
        ({"bbox": "24.93,60.16,24.96,1e2"}, "bbox", None),
        ({"bbox": "24.0,60.0,25.0,61.0"}, "bbox", "area_too_large"),
        ({"bbox": CENTRE, "themes": "history,wizardry"}, "themes", "unknown_theme"),
        ({"bbox": CENTRE, "themes": ""}, "themes", None),
        ({"bbox": CENTRE, "cursor": "not*base64"}, "cursor", "invalid_cursor"),
        ({"bbox": CENTRE, "cursor": "eyJrIjpbMSwyXX0"}, "cursor", "invalid_cursor"),
        ({"bbox": CENTRE, "limit": "0"}, "limit", "invalid_limit"),
        ({"bbox": CENTRE, "limit": "201"}, "limit", "invalid_limit"),
    ],
)
def test_bad_listing_input_is_400(gateway, helsinki, params, field, code) -> None:
    response = get(gateway, "/api/v1/pois", **params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "invalid_request" and body["details"]["field"] == field
    assert body["details"].get("code") == code
    assert body["trace_id"]


def test_a_cursor_of_another_listing_is_refused(gateway, helsinki) -> None:
    users = get(gateway, "/api/v1/users", user="admin", limit=1).json()
    cursor = httpx.URL(users["links"]["next"]).params["cursor"]
    response = get(gateway, "/api/v1/pois", bbox=CENTRE, cursor=cursor)
    assert response.status_code == 400
    assert response.json()["details"]["code"] == "invalid_cursor"


def test_one_place_has_walker_tags_and_provenance(gateway, helsinki) -> None:
    famous = listing(gateway, bbox=CENTRE, limit=1)["data"][0]
    response = get(gateway, f"/api/v1/pois/{famous['id']}")
    assert response.status_code == 200
    place = response.json()
    assert {k: place[k] for k in famous} == famous
    assert set(place["tags"]) == {
        "opening_hours", "website", "wikipedia", "wikidata", "wheelchair", "address"
    }  # fmt: skip
    assert place["tags"]["wikidata"]  # the most popular place has an encyclopaedia entry
    provenance = place["provenance"]
    assert provenance["source"] == "osm_ingest"
    assert provenance["source_url"] == "https://download.geofabrik.de/europe/finland.html"
    assert "OpenStreetMap" in provenance["attribution"]
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("poi_id", "status"),
    [("n1", 404), ("r9223372036854775807", 404), ("N1", 400), ("node1", 400), ("n01", 400),
     ("n-1", 400), ("n9223372036854775808", 400), ("n%201", 400), ("w1.0", 400)],
)  # fmt: skip
def test_unknown_or_non_canonical_ids(gateway, helsinki, poi_id: str, status: int) -> None:
    response = get(gateway, f"/api/v1/pois/{poi_id}")
    assert response.status_code == status, response.text
    expected = "not_found" if status == 404 else "invalid_request"
    assert response.json()["code"] == expected


def test_a_fresh_users_session_reads_places(gateway, helsinki) -> None:
    name, password = f"places-{uuid.uuid4().hex[:10]}", f"pw-{uuid.uuid4().hex}"
    subprocess.run(
        [str(stack.BIN / "wildside-manage"), "create-user", name, "--password-stdin"],
        input=f"{password}\n",
        env=gateway.env,
        check=True,
        capture_output=True,
        text=True,
    )
    token = stack.login(gateway, name, password)
    response = httpx.get(
        f"{base(gateway)}/api/v1/pois",
        params={"bbox": CENTRE, "limit": 3},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200 and len(response.json()["data"]) == 3
