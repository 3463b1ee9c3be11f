# Rivet - two commands: `make run` (the whole system) and `make test` (all checks and tests).
# Both create the environment first; uv is bootstrapped with pip when it is missing.

SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
RUN := $(UV) run --frozen --no-sync
.DEFAULT_GOAL := help

.PHONY: help run test chaos scale-out fuzz bench lint format typecheck asyncapi migrate clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv

.venv/.synced: $(UV) uv.lock pyproject.toml $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)
	$(UV) sync --frozen --all-packages
	@touch $@

run: .venv/.synced  ## run every service (embedded NATS/PostgreSQL when none are found)
	$(RUN) rivet-dev run

test: .venv/.synced  ## ruff, mypy and pytest against real NATS and PostgreSQL
	$(RUN) rivet-dev test $(PYTEST_ARGS)

chaos: .venv/.synced  ## fault suite: 10,000 operations while NATS, services and PostgreSQL die
	RIVET_CHAOS=full $(RUN) pytest tests/chaos -s -p no:cacheprovider $(PYTEST_ARGS)

scale-out: .venv/.synced  ## only the scale-out run of `make chaos`: 2 replicas each, 3 NATS nodes
	RIVET_CHAOS=full $(RUN) pytest tests/chaos/test_chaos_scale_out.py -s -p no:cacheprovider $(PYTEST_ARGS)

fuzz: .venv/.synced  ## long schemathesis pass over every route of the gateway's OpenAPI
	RIVET_FUZZ=long $(RUN) pytest tests/fuzz -p no:cacheprovider --timeout 3600 $(PYTEST_ARGS)

bench: .venv/.synced  ## benchmarks: gateway vs bare app, events, search, OCR, webhooks, attachments; one table
	$(RUN) python bench/run_all.py $(BENCH_ARGS)

lint: .venv/.synced  ## ruff check and format check
	$(RUN) ruff check . && $(RUN) ruff format --check .

format: .venv/.synced  ## apply ruff's fixes and formatting
	$(RUN) ruff check --fix . && $(RUN) ruff format .

typecheck: .venv/.synced  ## mypy --strict
	$(RUN) mypy

asyncapi: .venv/.synced  ## regenerate docs/asyncapi.json from the contracts
	$(RUN) python -m rivet_runtime.asyncapi > docs/asyncapi.json

migrate: .venv/.synced  ## apply every service's migrations (DATABASE_URL)
	$(RUN) rivet-dev migrate

clean:  ## remove the environment and local data (.venv, .tools, .rivet)
	rm -rf .venv .tools .rivet
