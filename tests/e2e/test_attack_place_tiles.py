"""Attack suite, the map's own tile sources (get_poi_tile, get_base_tile): through the
running tiles-auth (Traefik's forwardAuth target, as deployed) and through the gateway's
development /tiles (the development tile server), a user tries to smuggle a route, reach
a function off the list, or spell a source the way Martin may read differently. Every
such URI is refused (400/401/404); the plain ones pass."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e import stack
from tests.e2e.test_attack_tiles import ask, new_user, route_of, tiles  # noqa: F401
from tests.e2e.test_tiles_dev_e2e import helsinki, tiled  # noqa: F401
from tests.e2e.test_walking_skeleton import base

pytestmark = pytest.mark.e2e
PLAIN = ("/tiles/get_poi_tile/14/9327/4742", "/tiles/get_base_tile/14/9327/4742")


def smuggled(route: str) -> list[str]:
    """URIs that name a map source but carry another user's route, another function or a
    spelling Martin (or a proxy) may read otherwise."""
    query = f"?request_id={route}"
    return [
        f"/tiles/get_poi_tile,get_route_tile/14/9327/4742{query}",
        f"/tiles/get_base_tile,get_route_tile/14/9327/4742{query}",
        f"/tiles/get_poi_tile/14/9327/4742{query}",  # a request_id on a source taking none
        f"/tiles/get_poi_tile,get_route_tile{query}",
        "/tiles/get_poi_tile,get_route_tile/14/9327/4742",
        "/tiles/get%5Fpoi_tile/14/9327/4742",
        "/tiles/GET_POI_TILE/14/9327/4742",
        "/tiles/get_poi_tile/14/9327/4742/",
        "/tiles/get_poi_tile/14/9327/4742.pbf",
        "/tiles//get_poi_tile/14/9327/4742",
        "/tiles/./get_poi_tile/14/9327/4742",
        "/tiles/x/../get_route_tile/14/9327/4742" + query,
        "/tiles/get_poi_tile/014/9327/4742",
        "/tiles/get_poi_tile/+14/9327/4742",
        "/tiles/get_poi_tile/14/99999/4742",
        "/tiles/get_poi_tile/31/0/0",
        "/tiles/get_poi_tile,get_poi_tile/14/9327/4742",
        "/tiles/public.get_poi_tile/14/9327/4742",
        "/tiles/get_poi_tile;x=1/14/9327/4742",
        "/tiles/get_poi_tile/14/9327/4742?z=1&z=2",
        "/tiles/get_poi_tile/14/9327/4742?a=%27",
        "/tiles/st_asmvt/14/9327/4742",
        "/tiles/pg_sleep/14/9327/4742",
        "/tiles/get_pois/14/9327/4742",
        "/tiles/catalog",
    ]


def raw_get(server: stack.Service, uri: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """GET `uri` exactly as written (httpx would resolve dot segments before sending)."""
    parts = urlsplit(base(server))
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request("GET", uri, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def people(stack_env, tiled) -> dict[str, str]:  # noqa: F811
    gateway = tiled["gateway"]
    victim, attacker = new_user(stack_env, gateway), new_user(stack_env, gateway)
    return {"attacker": attacker, "victims_route": route_of(gateway, victim)}


def test_tiles_auth_refuses_every_smuggled_uri(tiles, people) -> None:  # noqa: F811
    answers = {
        uri: ask(tiles, people["attacker"], uri).status_code
        for uri in smuggled(people["victims_route"])
    }
    assert {uri: code for uri, code in answers.items() if code not in (400, 404)} == {}
    for uri in PLAIN:
        assert ask(tiles, people["attacker"], uri).status_code == 200, uri


def test_the_development_tile_server_refuses_every_smuggled_uri(tiled, people) -> None:  # noqa: F811
    for server in (tiled["gateway"], tiled["tiles"]):
        headers = {"Authorization": f"Bearer {people['attacker']}"}
        answers = {}
        for uri in smuggled(people["victims_route"]):
            status, body = raw_get(server, uri, headers)
            answers[uri] = status
            assert b"route" not in body or status >= 400, uri
        assert {uri: code for uri, code in answers.items() if code not in (400, 404)} == {}
        for uri in PLAIN:
            response = httpx.get(f"{base(server)}{uri}", headers=headers, timeout=10)
            assert response.status_code == 200, (server.name, uri)


def test_no_session_and_a_forged_session_are_401(tiled) -> None:  # noqa: F811
    forged = stack.token(tiled["gateway"])[:-4] + "AAAA"
    for server in (tiled["gateway"], tiled["tiles"]):
        for headers in ({}, {"Authorization": f"Bearer {forged}"}, {"Cookie": "session=x"}):
            response = httpx.get(f"{base(server)}{PLAIN[0]}", headers=headers, timeout=10)
            assert response.status_code == 401, (server.name, headers)
