"""Fixtures of the Telegram tests: a fake Bot API server per test, the real bot in front of it
and the session's real services behind it (the maintenance service too, for the tests that ask
for it)."""

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from rivet_devstack.testing.env import TestEnv
from rivet_devstack.testing.helpers import Session, register
from rivet_devstack.testing.services import ServiceSet

sys.path.insert(0, str(Path(__file__).parent))

from telegram_testing.fake_api import FakeTelegram
from telegram_testing.harness import Bot, Person, link
from telegram_testing.maintenance import Maintenance

NAMEPLATE = Path(__file__).parents[2] / "ocr" / "tests" / "fixtures" / "np_011_clean.jpg"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def bot(services: ServiceSet, fake: FakeTelegram) -> AsyncIterator[Bot]:
    """The bot, not started: a test starts it (with any settings it needs)."""
    harness = Bot(services, fake)
    yield harness
    await harness.stop()


@pytest.fixture
async def running(bot: Bot) -> Bot:
    await bot.start()
    return bot


@pytest.fixture
async def maintenance(
    services: ServiceSet, test_env: TestEnv, isolated_database: str
) -> AsyncIterator[Maintenance]:
    """The maintenance service on the system's namespace (``Maintenance.running``)."""
    async with Maintenance.running(services, test_env.common(), isolated_database) as service:
        yield service


@pytest.fixture
def nameplate() -> bytes:
    return NAMEPLATE.read_bytes()


@pytest.fixture
async def admin(api: httpx.AsyncClient, running: Bot) -> tuple[Session, Person]:
    """An admin of a new organization, with Telegram linked."""
    session = await register(api, "ana", organization_name="Plant <2> & Co")
    person = running.person("Ana")
    await link(api, person, session)
    return session, person


class Rivet:
    """The API side of the tests: what web users do while the Telegram user chats."""

    def __init__(self, api: httpx.AsyncClient) -> None:
        self.api = api

    async def asset(self, who: Session, **fields: object) -> dict[str, object]:
        body = {"manufacturer": "Baldor", "model": "EM3615T"} | fields
        answer = await self.api.post("/api/equipment", json=body, headers=who.headers)
        assert answer.status_code in (200, 201), answer.text
        equipment: dict[str, object] = answer.json()["equipment"]
        return equipment

    async def order(self, who: Session, equipment: str, **fields: object) -> dict[str, object]:
        body = {"equipment_id": equipment, "title": "Bearing noise"} | fields
        answer = await self.api.post("/api/work-orders", json=body, headers=who.headers)
        assert answer.status_code == 201, answer.text
        order: dict[str, object] = answer.json()
        return order

    async def get(self, who: Session, path: str) -> dict[str, object]:
        answer = await self.api.get(path, headers=who.headers)
        assert answer.status_code == 200, answer.text
        body: dict[str, object] = answer.json()
        return body


@pytest.fixture
def rivet(api: httpx.AsyncClient) -> Rivet:
    return Rivet(api)
