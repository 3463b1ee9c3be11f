# syntax=docker/dockerfile:1.7
# Rivet: the image of every service, one build per service. Build from the repository root (the
# context is the uv workspace; .dockerignore keeps it small) with the service's name and its
# HTTP port (docker-compose.yml passes both; the ports are in docs/architecture.md):
#   docker build --build-arg SERVICE=auth --build-arg PORT=8101 -t rivet-auth .
# The container runs `rivet-<service> serve`; `migrate` instead applies the service's
# migrations and exits (Kubernetes init container, compose one-shot service).
# Configuration: environment variables only (README's table; docs/operations.md).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9
# auth, assets, workorders, ocr, telegram, maintenance, integrations, attachments, web or
# gateway (a stage below for each)
ARG SERVICE

FROM ${UV_IMAGE} AS uv

# --- builder: a virtual environment with rivet-<service> and only its dependencies ----------
FROM ${PYTHON_IMAGE} AS builder
ARG SERVICE
ARG PORT
RUN if [ -z "${SERVICE}" ] || [ -z "${PORT}" ]; then \
        echo "build with --build-arg SERVICE=<service> --build-arg PORT=<its HTTP port>" >&2; \
        exit 1; \
    fi
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Third-party dependencies first, from the lock file alone: this layer is reused until uv.lock
# changes. --package limits the install to what the service needs (no dev tools, no other
# service's libraries).
RUN --mount=from=uv,source=/uv,target=/bin/uv \
    --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-workspace --package "rivet-${SERVICE}"
# Then Rivet's own packages (contracts, runtime, the service), installed as wheels, not links
# to /src, so that the runtime stage needs nothing but the venv. `rivet-service` names the
# service's command, whichever it is (the entry point below).
COPY pyproject.toml uv.lock ./
COPY libs ./libs
COPY services ./services
RUN --mount=from=uv,source=/uv,target=/bin/uv \
    --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "rivet-${SERVICE}" \
    && ln -s "rivet-${SERVICE}" /app/.venv/bin/rivet-service

# --- runtime: the venv on the same slim Python, as an unprivileged user ---------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 rivet \
    && useradd --system --uid 10001 --gid rivet --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin rivet
COPY --from=builder /app/.venv /app/.venv
ARG PORT
# A container's loopback is its own: listen on its network (services default to 127.0.0.1).
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=${PORT}
WORKDIR /app
# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001
EXPOSE ${PORT}
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ['HTTP_PORT'], timeout=2)"]
ENTRYPOINT ["rivet-service"]
CMD ["serve"]

# --- what a service adds to the runtime stage -----------------------------------------------
FROM runtime AS service-auth

FROM runtime AS service-assets

FROM runtime AS service-workorders

FROM runtime AS service-telegram

FROM runtime AS service-maintenance

FROM runtime AS service-integrations

FROM runtime AS service-attachments

FROM runtime AS service-web
# 8080 (PORT): the web app's pages; 8109: /metrics (METRICS_PORT), for the monitoring network only
EXPOSE 8109

FROM runtime AS service-gateway
# 8000 (PORT): the API; 8100: /metrics (METRICS_PORT), for the monitoring network only
EXPOSE 8100

FROM runtime AS service-ocr
# The OCR models (PP-OCRv6 small detector and recogniser) ship inside the pinned rapidocr wheel
# and are checked against pinned SHA-256 sums when the engine is built. Build it here, with no
# network at all: the image cannot start without its models, and nothing is fetched at run time.
RUN --network=none python -c "from rivet_ocr.scanner.engine import create_engine; create_engine('rapidocr')"

# --- the image: the stage of the service named by SERVICE -----------------------------------
# (a stage of this file, not an image to pull: hadolint cannot resolve the name)
# hadolint ignore=DL3006
FROM service-${SERVICE}
