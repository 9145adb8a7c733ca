"""Ingest settings from the environment (the CLI's flags override them)."""

from __future__ import annotations

from dataclasses import dataclass

from wildside_common.config import EnvReader
from wildside_ingest.domain.run import DEFAULT_BATCH, MAX_BATCH, MIN_BATCH


@dataclass(frozen=True, slots=True)
class IngestSettings:
    """`DATABASE_URL`, `INGEST_BATCH_SIZE`, `INGEST_LOCATION_STORE`."""

    database_url: str | None
    batch_size: int
    location_store: str

    @classmethod
    def from_env(cls, env: EnvReader) -> IngestSettings:
        """Read once; invalid values raise ConfigError naming the variable."""
        return cls(
            database_url=env.optional("DATABASE_URL"),
            batch_size=env.integer(
                "INGEST_BATCH_SIZE", DEFAULT_BATCH, minimum=MIN_BATCH, maximum=MAX_BATCH
            ),
            location_store=env.choice(
                "INGEST_LOCATION_STORE",
                ("flex_mem", "sparse_mem_array", "dense_mmap_array"),
                "flex_mem",
            ),
        )


@dataclass(frozen=True, slots=True)
class RefreshSettings:
    """`ingest-osm-refresh`: the ingest's settings (it runs `ingest-osm`) and `NATS_URL`
    (where the enrichment jobs go)."""

    ingest: IngestSettings
    nats_url: str

    @classmethod
    def from_env(cls, env: EnvReader) -> RefreshSettings:
        return cls(
            ingest=IngestSettings.from_env(env),
            nats_url=env.text("NATS_URL", "nats://127.0.0.1:4222"),
        )
