"""HTTP routes, one module per service; ``ROUTERS`` is what the app mounts, in order."""

from fastapi import APIRouter

from . import auth

ROUTERS: list[APIRouter] = [auth.router]
