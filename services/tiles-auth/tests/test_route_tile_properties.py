"""Properties of tiles-auth's rule against the model of how Martin 1.3.1 reads a URI.

1. Any URI the rule accepts is read by Martin as the same request: the same handler, the
   same sources in the same order, and the route its function draws is the one whose
   owner tiles-auth checks.
2. However a source taking a `request_id` is spelled (percent-encoded once or twice, with
   a composite, dot segments, slashes, `;`, spaces, backslashes, case, encoded or repeated
   query keys), Martin never draws a route without tiles-auth checking that very route.
3. Every canonical spelling is accepted (so property 1 is not vacuous).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wildside_common.errors import InvalidInput, NotFound
from wildside_tiles_auth.domain.martin import function_request_id, martin_reads, requote
from wildside_tiles_auth.domain.route_tiles import TilePolicy, TileRequest, read_tile_uri

pytestmark = pytest.mark.unit
RID = "2b0f4c1e-8a43-4b8e-9d0e-0e4bb7c8a111"
OTHER = "9d8e7f6a-1111-4222-8333-444455556666"
# What Martin is configured with; tiles-auth allows both, one of them takes a request_id.
POLICY = TilePolicy(frozenset({"get_route_tile", "get_poi_tile"}), frozenset({"get_route_tile"}))
FOUND = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def spelled(text: str) -> st.SearchStrategy[str]:
    """`text` with each character as itself (mostly), upper-cased, percent-encoded in
    either case, encoded twice, or encoded so actix's two passes decode it in turn."""

    def variants(char: str) -> list[str]:
        code = f"{ord(char):02X}"
        found = [char] * 24 + [char.upper(), f"%{code}", f"%{code.lower()}", f"%25{code}"]
        if code[0].isdigit():
            found.append(f"%%3{code[0]}{code[1]}")
        return found

    each = st.tuples(*(st.sampled_from(variants(char)) for char in text)).map("".join)
    return st.one_of(st.just(text), each)


SOURCE = st.one_of(
    spelled("get_route_tile"),
    spelled("get_poi_tile"),
    st.sampled_from(["catalog", "tiles", "x", "", "get_route_tile "]),
)
SEPARATOR = st.sampled_from([",", ",", ",", ",", "%2C", "%2c", "%252C"])
NUMBER = st.one_of(
    st.integers(0, 16).map(str),
    st.sampled_from(["+14", "014", "%31%34", "1%20", " 1", "-1", "1.5", "99999999999"]),
)
JUNK = st.sampled_from(
    [
        *["", "", "", "", "/", "//", "/.", "/..", "/x/..", "\\", "%5C", ";x=1", "%20"],
        *["%2F", "%2E", ".pbf", "%00", "%", "%2", "#"],
    ]
)
KEY = st.one_of(spelled("request_id"), st.sampled_from(["v", "themes", "request_id ", ""]))
VALUE = st.sampled_from(
    [
        *[RID, OTHER, RID.upper(), f"%22{OTHER}%22", f"{{{OTHER}}}", f"%7B{OTHER}%7D", ""],
        *[OTHER.replace("-", ""), f"{OTHER}%20", f"{OTHER}+", "art,food", "null", "[1]", "1e5"],
    ]
)
PAIR = st.tuples(KEY, st.sampled_from(["=", "=", "=", "=", "", "%3D"]), VALUE).map("".join)


@st.composite
def hostile_uris(draw: st.DrawFn) -> str:
    sources = draw(st.lists(SOURCE, min_size=1, max_size=3))
    ids = sources[0] + "".join(draw(SEPARATOR) + source for source in sources[1:])
    parts = [ids, *(draw(NUMBER) for _ in range(3))] if draw(st.booleans()) else [ids]
    path = "/" + "/".join(parts)
    at = draw(st.integers(0, len(path)))
    path = path[:at] + draw(JUNK) + path[at:]
    prefix = draw(st.sampled_from(["/tiles", "/tiles", "/tiles", "/tiles", "/TILES", "/%74iles"]))
    pairs = draw(st.lists(PAIR, min_size=1, max_size=3))
    glue = draw(st.sampled_from(["&", "&", "&", "&&", ";"]))
    start = draw(st.sampled_from(["?", "?", "?", "?", ""]))
    return prefix + path + start + glue.join(pairs)


@st.composite
def canonical_uris(draw: st.DrawFn) -> str:
    sources = draw(st.permutations(sorted(POLICY.sources)))
    sources = sources[: draw(st.integers(1, len(sources)))]
    path = "/tiles/" + ",".join(sources)
    if draw(st.booleans()):
        z = draw(st.integers(0, 30))
        x, y = draw(st.integers(0, 2**z - 1)), draw(st.integers(0, 2**z - 1))
        path += f"/{z}/{x}/{y}"
    params = [f"v={draw(st.integers(0, 9))}"] if draw(st.booleans()) else []
    if POLICY.request_id_sources & set(sources):
        params.insert(draw(st.integers(0, len(params))), f"request_id={draw(st.uuids())}")
    return path + ("?" + "&".join(params) if params else "")


def decide(uri: str) -> TileRequest | None:
    try:
        return read_tile_uri(uri, POLICY)
    except (NotFound, InvalidInput):
        return None


def check_against_martin(uri: str) -> TileRequest | None:
    decision = decide(uri)
    # Traefik routes `/tiles/...` here and strips the prefix before Martin reads the rest.
    tail = uri[len("/tiles") :] if uri.startswith("/tiles/") else None
    if decision is not None:
        assert tail is not None, uri
        reading = martin_reads(tail)
        assert reading.route == decision.kind, (uri, reading)
        if decision.kind != "catalog":
            assert reading.source_ids == decision.sources, (uri, reading)
            if decision.request_id is None:
                assert "request_id" not in reading.query_params, uri
            else:
                assert function_request_id(reading.query_params) == decision.request_id, uri
    if tail is not None:
        reading = martin_reads(tail)
        draws_a_route = (
            reading.route in ("tile", "tilejson")
            and set(reading.source_ids) <= POLICY.sources
            and bool(set(reading.source_ids) & POLICY.request_id_sources)
        )
        if draws_a_route and decision is not None:
            assert decision.request_id == function_request_id(reading.query_params), uri
            assert decision.request_id is not None, uri
        if reading.route == "catalog":
            assert decision is None or decision.kind == "catalog", uri
    return decision


@FOUND
@given(hostile_uris())
def test_no_spelling_reaches_a_route_without_checking_that_route(uri: str) -> None:
    check_against_martin(uri)


@FOUND
@given(canonical_uris())
def test_every_canonical_uri_passes_and_martin_reads_it_the_same(uri: str) -> None:
    assert check_against_martin(uri) is not None, uri


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("get%5Froute", "get_route"),
        ("a%2Fb%2B%25", "a/b+%"),
        ("%%35F", "%5F"),
        ("%zz%4", "%zz%4"),
        ("%C3%A9", "\u00e9"),
    ],
)
def test_the_model_decodes_like_actix(raw: str, decoded: str) -> None:
    assert requote(raw.encode()).decode() == decoded
    assert requote(b"a%2Fb%2B%25%41", b"%/+") == b"a%2Fb%2B%25A"  # the router's first pass


@pytest.mark.parametrize(
    ("tail", "route", "sources"),
    [
        ("/get%%35Froute_tile/14/1/2", "tile", ("get_route_tile",)),
        ("//get_route_tile//14/1/2", "tile", ("get_route_tile",)),
        ("/get_route_tile,get_route_tile", "tilejson", ("get_route_tile", "get_route_tile")),
        ("/get_route_tile%2Cx/1/0/0", "tile", ("get_route_tile", "x")),
        ("/./get_route_tile/14/1/2", "other", ()),
        ("/get_route_tile/14/1/2/", "other", ()),
        ("/get_route_tile/14/1/2.pbf", "redirect", ()),
        ("/get_route_tile/+14/01/2", "tile", ("get_route_tile",)),
        ("/get_route_tile/256/1/2", "error", ()),
        ("/%63atalog", "catalog", ()),
    ],
)
def test_the_model_routes_like_martin(tail: str, route: str, sources: tuple[str, ...]) -> None:
    reading = martin_reads(tail)
    assert (reading.route, reading.source_ids) == (route, sources)


def test_the_model_reads_the_query_as_martins_function_does() -> None:
    params = martin_reads(f"/get_route_tile/1/0/0?request_id={RID}&request%5Fid=%22{OTHER}%22")
    assert function_request_id(params.query_params) == OTHER  # the last one wins
    braces = martin_reads(f"/get_route_tile/1/0/0?request_id=%7B{OTHER.replace('-', '')}%7D")
    assert function_request_id(braces.query_params) == OTHER  # PostgreSQL's uuid input
    assert function_request_id(martin_reads("/a/1/0/0?request_id=1e5").query_params) is None
