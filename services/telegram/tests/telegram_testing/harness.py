"""The bot under test and the people talking to it.

``Bot`` builds the Telegram service exactly as its entry point does (through the devstack
registry) against the fake Bot API server and the run's real NATS, PostgreSQL and services.
``Person`` is one Telegram user: they send messages, photos and button presses as updates, and
read what the bot sent them (each person reads forward from where they last looked).
"""

import secrets
import time
from typing import Any

import httpx

from rivet_devstack.testing.helpers import Session
from rivet_devstack.testing.services import ServiceSet
from rivet_runtime import ServiceRuntime

from .fake_api import Call, FakeTelegram

SHOWN = ("sendMessage", "editMessageText")


class Bot:
    def __init__(self, services: ServiceSet, fake: FakeTelegram) -> None:
        self.services = services
        self.fake = fake
        self.runtime: ServiceRuntime[Any] | None = None
        self.overrides: dict[str, Any] = {}

    async def start(self, **overrides: Any) -> ServiceRuntime[Any]:
        self.overrides = overrides or self.overrides
        settings = {
            "telegram_bot_token": self.fake.token,
            "telegram_api_base": self.fake.url,
            "telegram_polling_timeout": 1,
            "telegram_notify_poll": 0.5,
            "telegram_scan_wait": 60,
            "consumer_workers": 2,
        } | self.overrides
        start = len(self.fake.calls)
        runtime = self.services.build("telegram", **settings)
        await runtime.start()
        self.runtime = runtime
        ready = (
            "deleteWebhook"
            if settings.get("telegram_mode", "polling") == "polling"
            else "setWebhook"
        )
        await self.fake.wait_for(lambda c: c.method == ready, start=start)
        return runtime

    async def stop(self) -> None:
        if self.runtime is not None:
            await self.runtime.stop()
            self.runtime = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    def person(self, first_name: str = "Tess") -> "Person":
        return Person(self, 10**8 + secrets.randbelow(9 * 10**8), first_name)


class Person:
    def __init__(self, bot: Bot, user_id: int, first_name: str) -> None:
        self.bot = bot
        self.fake = bot.fake
        self.id = user_id
        self.first_name = first_name
        self.cursor = len(self.fake.calls)
        self.last_press = ""
        self._message_id = 0

    @property
    def user(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": False, "first_name": self.first_name, "username": None}

    def _message(self, **content: Any) -> dict[str, Any]:
        self._message_id += 1
        return {
            "message_id": self._message_id,
            "date": int(time.time()),
            "chat": {"id": self.id, "type": "private", "first_name": self.first_name},
            "from": self.user,
            **content,
        }

    def update(self, **content: Any) -> dict[str, Any]:
        """A message update (not sent yet)."""
        return {"update_id": self.fake.new_update_id(), "message": self._message(**content)}

    async def say(self, text: str, reply_to: dict[str, Any] | None = None) -> dict[str, Any]:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            length = len(text.split(" ", 1)[0])
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        if reply_to is not None:
            content["reply_to_message"] = reply_to
        update = self.update(**content)
        await self.fake.push(update)
        return update

    async def photo(
        self,
        data: bytes,
        caption: str | None = None,
        as_file: bool = False,
        reply_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        file_id = f"f{secrets.token_hex(8)}"
        self.fake.files[file_id] = data
        content: dict[str, Any] = {"caption": caption} if caption else {}
        if reply_to is not None:
            content["reply_to_message"] = reply_to
        if as_file:
            content["document"] = {
                "file_id": file_id,
                "file_unique_id": file_id,
                "file_name": "plate.jpg",
                "mime_type": "image/jpeg",
                "file_size": len(data),
            }
        else:
            sizes = [(90, 60, 2000), (1280, 960, len(data))]
            content["photo"] = [
                {"file_id": file_id if s == len(data) else f"{file_id}t",
                 "file_unique_id": f"{file_id}{w}", "width": w, "height": h, "file_size": s}
                for w, h, s in sizes
            ]  # fmt: skip
        update = self.update(**content)
        await self.fake.push(update)
        return update

    async def document(
        self,
        data: bytes,
        filename: str,
        mime_type: str,
        caption: str | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A file sent as a document (not an image: Telegram does not make it a photo)."""
        file_id = f"d{secrets.token_hex(8)}"
        self.fake.files[file_id] = data
        content: dict[str, Any] = {
            "document": {
                "file_id": file_id,
                "file_unique_id": file_id,
                "file_name": filename,
                "mime_type": mime_type,
                "file_size": len(data),
            }
        }
        if caption:
            content["caption"] = caption
        if reply_to is not None:
            content["reply_to_message"] = reply_to
        update = self.update(**content)
        await self.fake.push(update)
        return update

    async def press(self, message: dict[str, Any], label: str) -> dict[str, Any]:
        """Tap the button whose text contains ``label`` on the latest version of ``message``."""
        current = self.fake.messages[(self.id, message["message_id"])]
        buttons = [
            b for row in current.get("reply_markup", {}).get("inline_keyboard", []) for b in row
        ]
        chosen = [b for b in buttons if label in b["text"]]
        assert chosen, f"no button {label!r} in {[b['text'] for b in buttons]}"
        return await self.press_data(current, chosen[0]["callback_data"])

    async def press_data(self, message: dict[str, Any], data: str) -> dict[str, Any]:
        self.last_press = secrets.token_hex(6)
        update = {
            "update_id": self.fake.new_update_id(),
            "callback_query": {
                "id": self.last_press,
                "from": self.user,
                "chat_instance": str(self.id),
                "message": message,
                "data": data,
            },
        }
        await self.fake.push(update)
        return update

    def _mine(self, call: Call, methods: tuple[str, ...], contains: str | None) -> bool:
        return (
            call.method in methods
            and call.status == 200
            and call.chat_id == self.id
            and (contains is None or contains in call.text)
        )

    async def read(
        self, contains: str | None = None, methods: tuple[str, ...] = SHOWN, timeout: float = 20.0
    ) -> dict[str, Any]:
        """The next message the bot sent (or edited) to this person, containing ``contains``;
        returns the message as it is now (with its latest buttons)."""
        index, call = await self.fake.wait_for(
            lambda c: self._mine(c, methods, contains), timeout=timeout, start=self.cursor
        )
        self.cursor = index + 1
        latest = self.fake.messages[(self.id, int(call.result["message_id"]))]
        return {**latest, "text": call.text}

    def received(self, methods: tuple[str, ...] = SHOWN) -> list[Call]:
        """Everything the bot sent this person so far."""
        return [c for c in self.fake.calls if self._mine(c, methods, None)]

    async def answered(self, timeout: float = 20.0) -> Call:
        """The bot's answer to this person's last button press (the toast or alert)."""
        _index, call = await self.fake.wait_for(
            lambda c: (
                c.method == "answerCallbackQuery"
                and c.status == 200
                and c.params.get("callback_query_id") == self.last_press
            ),
            timeout=timeout,
        )
        return call


async def link(api: httpx.AsyncClient, person: Person, session: Session) -> dict[str, Any]:
    """Link ``person`` to ``session``'s account the way a user does: a code from the API, then
    ``/start <code>`` in the chat."""
    created = await api.post("/api/auth/link-telegram", headers=session.headers)
    assert created.status_code == 200, created.text
    await person.say(f"/start {created.json()['code']}")
    return await person.read("Linked to")
