"""Command line of every service: ``serve`` (default) or ``migrate``."""

import argparse
import asyncio
import logging
from collections.abc import Callable
from typing import Any

import uvicorn

from . import metrics
from .logging import configure_logging
from .service import ServiceRuntime

log = logging.getLogger(__name__)


def run_service(
    build: Callable[[], ServiceRuntime[Any]], app: Callable[..., Any] | None = None
) -> None:
    """Entry point: ``rivet-<service> [serve|migrate]``.

    ``build`` makes the runtime from the environment; ``app`` (optional) makes the ASGI app that
    serves it - by default the runtime's own /health, /ready and /metrics. With METRICS_PORT
    set to a port number, /metrics is served there alone (on HTTP_HOST) and not by ``app``.
    """
    parser = argparse.ArgumentParser()
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "migrate"])
    args = parser.parse_args()
    runtime = build()
    settings = runtime.settings
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    if args.command == "migrate":
        asyncio.run(runtime.run_migrations())
        return
    asgi = app(runtime) if app is not None else runtime.ops_app()
    if isinstance(settings.metrics_port, int):
        try:
            metrics.serve(settings.http_host, settings.metrics_port)
        except OSError as exc:
            raise SystemExit(
                f"{settings.service_name}: cannot serve /metrics on "
                f"{settings.http_host}:{settings.metrics_port} (METRICS_PORT): {exc}"
            ) from exc
        log.info("metrics on %s:%d", settings.http_host, settings.metrics_port)
    uvicorn.run(
        asgi,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=int(settings.shutdown_grace),
    )
