"""Start the services in the test process, the same way their entry points build them."""

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI

from rivet_auth.main import build as build_auth
from rivet_auth.settings import AuthSettings
from rivet_gateway.app import create_app
from rivet_gateway.settings import GatewaySettings
from rivet_runtime.service import ServiceRuntime

from .env import TestEnv


class ServiceSet:
    def __init__(self, env: TestEnv, keys: tuple[str, str]) -> None:
        self.env = env
        self.private_key, self.public_key = keys
        self.runtimes: dict[str, ServiceRuntime[Any]] = {}
        self.app: FastAPI | None = None

    def auth_settings(self, **overrides: Any) -> AuthSettings:
        values = self.env.common() | {
            "jwt_private_key": self.private_key,
            # Fast hashing keeps tests quick; production defaults are checked elsewhere.
            "argon2_time_cost": 1,
            "argon2_memory_cost": 8192,
            "telegram_bot_username": "rivet_test_bot",
        }
        return AuthSettings.model_validate(values | overrides)

    def gateway_settings(self, **overrides: Any) -> GatewaySettings:
        values = self.env.common() | {"jwt_public_key": self.public_key, "rpc_timeout": 3.0}
        return GatewaySettings.model_validate(values | overrides)

    async def start(self) -> None:
        auth = build_auth(self.auth_settings())
        gateway: ServiceRuntime[None] = ServiceRuntime(self.gateway_settings(), None)
        self.app = create_app(gateway)
        self.runtimes = {"auth": auth, "gateway": gateway}
        for runtime in self.runtimes.values():
            await runtime.start()

    async def stop(self) -> None:
        for runtime in reversed(self.runtimes.values()):
            await runtime.stop()

    async def restart(self, name: str) -> None:
        """Stop a service and start a fresh instance of it (new process state, same data)."""
        await self.runtimes[name].stop()
        new: ServiceRuntime[Any]
        if name == "auth":
            new = build_auth(self.auth_settings())
        else:
            gateway: ServiceRuntime[None] = ServiceRuntime(self.gateway_settings(), None)
            self.app = create_app(gateway)
            new = gateway
        self.runtimes[name] = new
        await new.start()

    @contextlib.asynccontextmanager
    async def client(self, ip: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
        assert self.app is not None
        transport = httpx.ASGITransport(app=self.app, client=(ip, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://rivet.test") as client:
            yield client
