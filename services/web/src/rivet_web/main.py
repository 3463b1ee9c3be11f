"""Web app entry point: ``rivet-web``."""

from rivet_runtime.cli import run_service

from .app import build_runtime, create_app


def cli() -> None:
    run_service(build_runtime, create_app)
