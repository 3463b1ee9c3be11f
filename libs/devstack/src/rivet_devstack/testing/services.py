"""Start the services in the test process, the same way their entry points build them.

The services come from ``rivet_devstack.services``; one whose package is not installed yet is
skipped.
"""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import nats
from fastapi import FastAPI
from pydantic_settings import BaseSettings

from rivet_runtime.service import ServiceRuntime
from rivet_runtime.streams import ensure_streams

from ..mailserver import LocalMailServer
from ..services import installed, spec
from .env import TestEnv


class ServiceSet:
    def __init__(self, env: TestEnv, keys: tuple[str, str]) -> None:
        self.env = env
        self.private_key, self.public_key = keys
        self.runtimes: dict[str, ServiceRuntime[Any]] = {}
        self.app: FastAPI | None = None
        self.mail = LocalMailServer()
        """The SMTP server of services that send mail: tests read what arrived from it."""

    def settings_for(self, name: str, **overrides: Any) -> Any:
        entry = spec(name)
        cls: type[BaseSettings] = entry.load("settings")
        values = self.env.common() | {"jwt_private_key": self.private_key} | entry.test_overrides
        if "smtp_url" in cls.model_fields:
            values |= {"smtp_url": self.mail.url, "mail_poll": 1.0}
        return cls.model_validate(values | overrides)

    def build(self, name: str, **overrides: Any) -> ServiceRuntime[Any]:
        builder: Callable[[Any], ServiceRuntime[Any]] = spec(name).load("build")
        return builder(self.settings_for(name, **overrides))

    def auth_settings(self, **overrides: Any) -> Any:
        return self.settings_for("auth", **overrides)

    def gateway_settings(self, **overrides: Any) -> Any:
        """The gateway's settings (loaded through its spec: this library imports no service)."""
        entry = spec("gateway")
        cls: type[BaseSettings] = entry.load("settings")
        values = self.env.common() | {"jwt_public_key": self.public_key, "rpc_timeout": 3.0}
        return cls.model_validate(values | entry.test_overrides | overrides)

    def gateway(self, **overrides: Any) -> tuple[ServiceRuntime[None], FastAPI]:
        entry = spec("gateway")
        runtime: ServiceRuntime[None] = entry.load("runtime")(self.gateway_settings(**overrides))
        app: FastAPI = entry.load("app")(runtime)
        return runtime, app

    async def start(self) -> None:
        self.mail.start()
        for entry in installed():
            # Services that need outside credentials (the Telegram bot) are started by their
            # own tests, against fakes.
            if entry.build is not None and not entry.needs:
                self.runtimes[entry.name] = self.build(entry.name)
        gateway, self.app = self.gateway()
        self.runtimes["gateway"] = gateway
        # Together, as in production: a service waits for the streams it reads to be declared
        # by their publishers, whichever starts first.
        await asyncio.gather(*(runtime.start() for runtime in self.runtimes.values()))

    async def stop(self) -> None:
        for runtime in reversed(self.runtimes.values()):
            await runtime.stop()
        self.mail.stop()

    async def restart(self, name: str) -> None:
        """Stop a service and start a fresh instance of it (new process state, same data)."""
        await self.runtimes[name].stop()
        new: ServiceRuntime[Any]
        if name == "gateway":
            new, self.app = self.gateway()
        else:
            new = self.build(name)
        self.runtimes[name] = new
        await new.start()

    @contextlib.asynccontextmanager
    async def alone(
        self, name: str, database_url: str, **overrides: Any
    ) -> AsyncIterator[ServiceRuntime[Any]]:
        """One more instance of service ``name``, started on a NATS namespace and a database
        of its own where nothing else runs: the streams it reads are declared for it (their
        publishers are not there), so a test can play the other services itself."""
        namespace = f"{self.env.namespace}a{uuid.uuid4().hex[:8]}"
        runtime = self.build(name, database_url=database_url, nats_namespace=namespace, **overrides)
        nc = await nats.connect(self.env.nats_url)
        try:
            await ensure_streams(nc.jetstream(), runtime.consumed_streams(), runtime.settings)
        finally:
            await nc.close()
        await runtime.start()
        try:
            yield runtime
        finally:
            await runtime.stop()

    @contextlib.asynccontextmanager
    async def client(self, ip: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
        assert self.app is not None
        transport = httpx.ASGITransport(app=self.app, client=(ip, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://rivet.test") as client:
            yield client
