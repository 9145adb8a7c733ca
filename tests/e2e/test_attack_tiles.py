"""Attack suite, tiles: a logged-in user tries to read another user's route tiles through
the running tiles-auth (Traefik's forwardAuth target), spelling the URI every way Martin
might read as that route. tiles-auth runs as its own database role, as deployed."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e import stack
from tests.e2e.test_walking_skeleton import BODY, base
from wildside_common.testing.demo_data import as_role

pytestmark = pytest.mark.e2e


def bypasses(route: str) -> list[str]:
    """Spellings of `route`'s tile that the old tiles-auth answered 200 to anyone."""
    tile = "/tiles/get_route_tile/14/9326/4734"
    query = f"?request_id={route}"
    return [
        f"/tiles/get_route_tile,get_route_tile/14/9326/4734{query}",
        f"/tiles/get%5Froute%5Ftile/14/9326/4734{query}",
        f"/tiles/get%%35Froute_tile/14/9326/4734{query}",
        f"/tiles/%67et_route_tile{query}",
        f"/tiles/./get_route_tile/14/9326/4734{query}",
        f"/tiles/x/../get_route_tile/14/9326/4734{query}",
        f"/tiles//get_route_tile/14/9326/4734{query}",
        f"/tiles/GET_ROUTE_TILE/14/9326/4734{query}",
        f"/tiles/get_route_tile;x=1/14/9326/4734{query}",
        f"/tiles/get_route_tile%20/14/9326/4734{query}",
        f"{tile}%20{query}",
        f"/tiles\\get_route_tile\\14\\9326\\4734{query}",
        f"/tiles/get_route_tile%5C14/9326/4734{query}",
        f"{tile}/{query}",
        f"{tile}.pbf{query}",
        f"/tiles/tiles/get_route_tile/14/9326/4734{query}",
        f"{tile}?request%5Fid={route}",
        f"{tile}?request_id=%22{route}%22",
        f"{tile}?request_id={uuid.uuid4()}&request_id={route}",
        f"/tiles/get_route_tile{query}",  # its TileJSON, plainly: another user's route
        f"{tile}{query}",  # the tile itself, plainly
    ]


@pytest.fixture(scope="module")
def tiles(stack_env: dict[str, str]) -> Iterator[stack.Service]:
    env = {**stack_env, "DATABASE_URL": as_role(stack_env["DATABASE_URL"], "tiles_auth_ro")}
    for attempt in range(3):  # a free port can be taken before the service binds it
        service = stack.tiles_auth(env)
        service.start()
        try:
            service.wait_ready()
            break
        except (RuntimeError, TimeoutError):
            service.stop()
            if attempt == 2:
                raise
    yield service
    service.stop()


def new_user(env: dict[str, str], gateway: stack.Service) -> str:
    """A fresh user's session token."""
    name, password = f"tiles-{uuid.uuid4().hex[:10]}", f"pw-{uuid.uuid4().hex}"
    subprocess.run(
        [str(stack.BIN / "wildside-manage"), "create-user", name, "--password-stdin"],
        input=f"{password}\n",
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return stack.login(gateway, name, password)


def route_of(gateway: stack.Service, token: str) -> str:
    response = httpx.post(
        f"{base(gateway)}/api/v1/routes",
        json={**BODY, "seed": 4242},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 202, response.text
    return str(response.json()["request_id"])


@pytest.fixture(scope="module")
def people(stack_env, gateway) -> dict[str, str]:
    victim, attacker = new_user(stack_env, gateway), new_user(stack_env, gateway)
    return {
        "victim": victim,
        "attacker": attacker,
        "victims_route": route_of(gateway, victim),
        "attackers_route": route_of(gateway, attacker),
        "admin": stack.token(gateway, "admin"),
    }


def ask(tiles: stack.Service, token: str, uri: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "X-Forwarded-Uri": uri}
    return httpx.get(f"{base(tiles)}/auth", headers=headers, timeout=5)


def test_no_spelling_of_another_users_route_gets_through(tiles, people) -> None:
    answers = {
        uri: ask(tiles, people["attacker"], uri).status_code
        for uri in bypasses(people["victims_route"])
    }
    assert {uri: code for uri, code in answers.items() if code not in (400, 404)} == {}


def test_each_user_reads_their_own_route(tiles, people) -> None:
    for who, route in (("attacker", "attackers_route"), ("victim", "victims_route")):
        for uri in (
            f"/tiles/get_route_tile/14/9326/4734?request_id={people[route]}",
            f"/tiles/get_route_tile?request_id={people[route]}",
        ):
            response = ask(tiles, people[who], uri)
            assert response.status_code == 200, (who, uri, response.text)
    admin = ask(
        tiles, people["admin"], f"/tiles/get_route_tile/1/0/0?request_id={people['victims_route']}"
    )
    assert admin.status_code == 200


def test_the_catalog_is_404_for_a_user_and_200_for_an_admin(tiles, people) -> None:
    assert ask(tiles, people["attacker"], "/tiles/catalog").status_code == 404
    assert ask(tiles, people["attacker"], "/tiles/%63atalog").status_code == 404
    assert ask(tiles, people["admin"], "/tiles/catalog").status_code == 200


def test_a_call_without_a_forwarded_uri_or_off_the_list_is_404(tiles, people) -> None:
    url = f"{base(tiles)}/auth"
    bare = httpx.get(url, headers={"Authorization": f"Bearer {people['attacker']}"}, timeout=5)
    assert bare.status_code == 404
    for uri in ("/tiles/pois/14/9326/4734", "/tiles/health", "/tiles/_/metrics", "/tiles/"):
        assert ask(tiles, people["attacker"], uri).status_code == 404, uri
