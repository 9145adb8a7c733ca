# syntax=docker/dockerfile:1
# One image for every Wildside service; the command picks the service:
#   wildside-gateway | wildside-router | wildside-enricher | wildside-tiles-auth |
#   ingest-osm | wildside-manage | python -m wildside_common.migrate
# Versions come from constraints.txt, as in the local virtual environment.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# The ingest's C++ readers (services/ingest/native) compile against libosmium's headers.
RUN apt-get update \
    && apt-get install -y --no-install-recommends g++ libosmium2-dev libprotozero-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY constraints.txt ./
COPY libs/common/ libs/common/
COPY services/ services/
RUN pip install -c constraints.txt \
        ./libs/common \
        ./services/gateway \
        ./services/router \
        ./services/enricher \
        ./services/ingest \
        ./services/tiles-auth \
    && python -c "import wildside_gateway, wildside_router, wildside_enricher, wildside_ingest, wildside_ingest._native, wildside_tiles_auth"

FROM python:3.11-slim-bookworm
RUN useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin wildside
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The Helsinki demo extract and its ODbL attribution (data/README.md).
COPY data/ data/
# Bytecode was compiled at install time; the root filesystem is read-only at run time.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GATEWAY_HOST=0.0.0.0 \
    TILES_AUTH_HOST=0.0.0.0 \
    METRICS_HOST=0.0.0.0
USER 10001:10001
EXPOSE 8080 8090 9101 9102
CMD ["wildside-gateway"]
