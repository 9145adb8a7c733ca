# One set of commands for humans, CI and hooks. See README.md.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST := $(BIN)/pytest -p no:cacheprovider

.PHONY: up down venv deps system-deps migrate er-diagram lint test unit contract e2e deploy-check faults faults-ci browser web attack bench schemas openapi clean

## venv: the virtual environment with every package pinned by constraints.txt
venv: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt constraints.txt libs/common/pyproject.toml $(wildcard services/*/pyproject.toml) $(wildcard services/*/setup.py services/*/native/*)
	bash scripts/venv.sh

## system-deps: PostGIS (and, for make up, PostgreSQL/Redis) from the distribution
system-deps:
	bash scripts/system-deps.sh

deps: venv system-deps

## up: the whole stack with demo data on http://127.0.0.1:8080 (Ctrl-C stops the services)
up: deps
	bash scripts/up.sh

## down: stop the servers make up started in the background
down:
	bash scripts/down.sh

migrate: venv
	$(BIN)/python -m wildside_common.migrate

er-diagram: venv
	bash scripts/er-diagram.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy -p wildside_common -p wildside_gateway -p wildside_router -p wildside_enricher -p wildside_ingest -p wildside_tiles_auth
	$(BIN)/lint-imports

unit: venv
	$(PYTEST) -m unit -n 2 libs services tests

contract: deps
	$(PYTEST) -m contract -n 4 --dist loadfile libs services tests

## e2e: the end-to-end suite, the sample clients (clients/) included: their Rust crates
## come from Debian (system-deps.sh --clients)
e2e: deps
	bash scripts/system-deps.sh --clients
	$(PYTEST) -m e2e tests/e2e

## deploy-check: deploy/ checked offline (no cluster): yamllint, every kustomization rendered
## by the pinned kubectl, documents against the Kubernetes and CRD schemas, settings each
## container needs, dashboards' metrics, promtool on the alerting rules and their unit tests
deploy-check: venv
	bash scripts/system-deps.sh --deploy
	bash scripts/deploy-check.sh
## faults: the stack on a three-node NATS cluster (streams at R3) under a bounded load while
## routers, NATS nodes, gateways or Redis fail, a poison job arrives, a router runs slow
## (tests/faults, docs/operations.md)
faults: deps
	$(PYTEST) -m fault tests/faults

## faults-ci: the two scenarios make test runs (about 2 minutes): routers SIGKILLed mid-solve
## and the job stream's leader node killed at R3; nothing accepted lost, nothing run twice
FAULTS_CI = tests/faults/test_router_kills.py tests/faults/test_nats_node.py
faults-ci: deps
	$(PYTEST) -m fault $(FAULTS_CI)

## web: build the web client into web/dist when its sources changed (npm packages pinned)
web:
	bash scripts/web-build.sh

## browser: the web client in Debian's chromium (headless) against the whole stack;
## screenshots of each step in tests/browser/artifacts/
browser: deps
	bash scripts/system-deps.sh --browser
	bash scripts/web-build.sh
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(PYTEST) -m browser tests/browser

## attack: the attack suite alone (docs/security.md); make e2e runs it too
attack: deps
	$(PYTEST) -m e2e tests/e2e -k test_attack_

## test: lint, then the unit, contract and end-to-end suites, the deploy checks, the browser
## suite and two fault scenarios as separate steps
test: deps
	$(MAKE) lint
	$(MAKE) unit
	$(MAKE) contract
	$(MAKE) e2e
	$(MAKE) deploy-check
	$(MAKE) browser
	$(MAKE) faults-ci

bench: deps
	bash bench/run.sh

openapi: venv
	$(BIN)/python -m wildside_gateway.openapi > schemas/openapi.json
	$(BIN)/python -m wildside_gateway.asyncapi > services/gateway/src/wildside_gateway/data/asyncapi.json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
