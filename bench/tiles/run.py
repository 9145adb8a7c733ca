"""Tile latency: a z14 tile over central Helsinki, from the PostGIS function to the map.

    .venv/bin/python bench/tiles/run.py [--requests 300] [--out bench/tiles/results.json]

A private stack (scratch database with the Helsinki demo extract, own nats-server,
Redis prefix) runs the development tile server (as martin_ro, with tiles-auth's decision)
and a gateway relaying /tiles to it, as `make up` does without Martin. For each of
get_poi_tile and get_base_tile at 14/9327/4742 (the Esplanadi and the market square),
sequential requests on one keep-alive connection, after a warm-up:
  - sql       the function alone, as martin_ro (asyncpg);
  - direct    GET from the development tile server (session check, function, ETag);
  - gateway   GET through the gateway's /tiles (what the map on :8080 sees);
  - revalidate  the same through the gateway with If-None-Match (304).
Target (the issue's "in milliseconds"): p95 < 50 ms through the gateway.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from harness import base, private_stack  # noqa: E402

from tests.e2e import stack  # noqa: E402

TILE = (14, 9327, 4742)
SOURCES = ("get_poi_tile", "get_base_tile")
TARGET_P95_MS = 50.0


def as_role(url: str, role: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port or 5432}"))


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        "max_ms": round(ordered[-1], 3),
    }


async def sql_latency(url: str, source: str, count: int) -> tuple[dict[str, float], int]:
    conn = await asyncpg.connect(as_role(url, "martin_ro"))
    try:
        query = f"SELECT public.{source}($1, $2, $3)"
        size = len(await conn.fetchval(query, *TILE))  # warm-up, and the tile's size
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            await conn.fetchval(query, *TILE)
            samples.append(1000 * (time.perf_counter() - started))
        return summary(samples), size
    finally:
        await conn.close()


def http_latency(
    client: httpx.Client, url: str, count: int, headers: dict[str, str], status: int
) -> dict[str, float]:
    for _ in range(10):
        assert client.get(url, headers=headers).status_code == status
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        samples.append(1000 * (time.perf_counter() - started))
        assert response.status_code == status, response.text
    return summary(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "tiles" / "results.json")
    args = parser.parse_args()
    with private_stack() as bench:
        url = bench.env["DATABASE_URL"]
        subprocess.run(
            [str(stack.BIN / "ingest-osm"), str(ROOT / "data/helsinki-centre.osm.pbf")],
            env={**os.environ, "DATABASE_URL": url},
            check=True,
            capture_output=True,
        )
        tiles = bench.add(
            stack.tiles_dev(
                {
                    **bench.env,
                    "DATABASE_URL": as_role(url, "tiles_auth_ro"),
                    "TILES_DATABASE_URL": as_role(url, "martin_ro"),
                }
            )
        )
        gateway = bench.add(stack.gateway({**bench.env, "TILES_DEV_UPSTREAM": base(tiles)}))
        session = {"Authorization": f"Bearer {bench.login(gateway)}"}
        results: dict[str, object] = {"tile": "/".join(map(str, TILE)), "requests": args.requests}
        with httpx.Client(timeout=10) as client:
            for source in SOURCES:
                sql, size = asyncio.run(sql_latency(url, source, args.requests))
                path = f"/tiles/{source}/{'/'.join(map(str, TILE))}"
                through = f"{base(gateway)}{path}"
                tag = client.get(through, headers=session).headers["etag"]
                results[source] = {
                    "bytes": size,
                    "sql": sql,
                    "direct": http_latency(
                        client, f"{base(tiles)}{path}", args.requests, session, 200
                    ),
                    "gateway": http_latency(client, through, args.requests, session, 200),
                    "revalidate": http_latency(
                        client, through, args.requests, {**session, "If-None-Match": tag}, 304
                    ),
                }
        results["targets"] = {
            "gateway_p95_lt_50ms": all(
                results[source]["gateway"]["p95_ms"] < TARGET_P95_MS  # type: ignore[index]
                for source in SOURCES
            )
        }
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
