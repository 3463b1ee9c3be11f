"""A fake Telegram Bot API server on 127.0.0.1, for driving the real aiogram bot in tests.

It speaks the Bot API's HTTP shape (``/bot<token>/<method>`` with form fields, JSON answers,
``/file/bot<token>/<path>`` downloads) and keeps what a test needs to look at:

- ``getUpdates`` serves the updates a test pushed, with Telegram's offset semantics: an update
  stays until a later call confirms it with a higher ``offset`` (so a bot that dies before
  confirming gets it again on restart), and long-polls up to the ``timeout`` asked;
- every other call is recorded (method, fields, time, answer status); sent messages get ids and
  are kept, edits change them, so a test can press the buttons of the latest version;
- ``getFile`` and downloads serve the files a test registered (nameplate photos, documents);
- ``sendPhoto`` and ``sendDocument`` keep the bytes the bot uploads (``Call.files``), and the
  message they make has the caption as its text, as Telegram's reply_to_message carries it;
- ``throttle`` makes the next calls of a method answer 429 with ``retry_after``.
"""

import asyncio
import contextlib
import json
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JSON_FIELDS = {"reply_markup", "commands", "allowed_updates", "entities", "link_preview_options"}
INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "retry_after"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    status: int = 200
    result: Any = None
    files: dict[str, bytes] = field(default_factory=dict)
    """Uploaded files by field name (``photo``, ``document``), with the name they came with
    in ``params[<field>]``."""

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        """A message's text, or a photo's or a document's caption."""
        return str(self.params.get("text", self.params.get("caption", "")))


@dataclass
class Throttle:
    retry_after: int
    chat_id: int | None = None


@dataclass
class FakeTelegram:
    bot_id: int = field(default_factory=lambda: 10**9 + secrets.randbelow(10**9))
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    throttles: dict[str, list[Throttle]] = field(default_factory=lambda: defaultdict(list))
    url: str = ""

    def __post_init__(self) -> None:
        self.token = f"{self.bot_id}:TEST-{secrets.token_urlsafe(24)}"
        self.me = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Rivet",
            "username": "rivet_test_bot",
        }
        self._pending: list[dict[str, Any]] = []
        self._next_update = 1
        self._next_message = 1
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    # --- server ---------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(client_max_size=30 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # --- what tests do --------------------------------------------------------------------

    def new_update_id(self) -> int:
        self._next_update += 1
        return self._next_update

    async def push(self, update: dict[str, Any]) -> None:
        async with self._changed:
            self._pending.append(update)
            self._changed.notify_all()

    def throttle(self, method: str, retry_after: int, chat_id: int | None = None) -> None:
        """The next ``method`` call (to ``chat_id``, if given) is answered 429."""
        self.throttles[method].append(Throttle(retry_after, chat_id))

    async def wait_for(self, check: Any, timeout: float = 20.0, start: int = 0) -> tuple[int, Call]:
        """The first recorded call from index ``start`` on that passes ``check``."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                for index in range(start, len(self.calls)):
                    if check(self.calls[index]):
                        return index, self.calls[index]
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(c.method, c.chat_id, c.text[:80]) for c in self.calls[start:]]
                    raise AssertionError(f"no matching Bot API call within {timeout}s; saw {seen}")
                try:
                    await asyncio.wait_for(self._changed.wait(), left)
                except TimeoutError:
                    continue

    def pending(self) -> int:
        return len(self._pending)

    # --- Bot API --------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params, files = await _params(request)
        if method.lower() == "getupdates":
            return _ok(await self._get_updates(params))
        throttle = self._throttled(method, params)
        call = Call(method, params, time.monotonic(), 429 if throttle else 200, files=files)
        if throttle is None:
            call.result = self._answer(method, params)
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
        if throttle is not None:
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {throttle.retry_after}",
                    "parameters": {"retry_after": throttle.retry_after},
                },
                status=429,
            )
        return _ok(call.result)

    def _throttled(self, method: str, params: dict[str, Any]) -> Throttle | None:
        queue = self.throttles.get(method, [])
        for index, throttle in enumerate(queue):
            if throttle.chat_id is None or throttle.chat_id == params.get("chat_id"):
                return queue.pop(index)
        return None

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = params.get("offset")
        wait = float(params.get("timeout", 0))
        async with self._changed:
            if offset is not None:
                self._pending = [u for u in self._pending if u["update_id"] >= offset]
            if not self._pending and wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: bool(self._pending)), wait
                    )
            return list(self._pending)

    def _answer(self, method: str, params: dict[str, Any]) -> Any:
        name = method.lower()
        if name == "getme":
            return self.me
        if name in ("sendmessage", "sendphoto", "senddocument"):
            self._next_message += 1
            chat = int(params["chat_id"])
            message = {
                "message_id": self._next_message,
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private", "first_name": "User"},
                "from": self.me,
            }
            if name == "sendmessage":
                message["text"] = params.get("text", "")
            else:
                message["caption"] = params.get("caption", "")
                kind = "photo" if name == "sendphoto" else "document"
                file_id = f"sent{self._next_message}"
                if kind == "photo":
                    message["photo"] = [
                        {"file_id": file_id, "file_unique_id": file_id, "width": 1, "height": 1}
                    ]
                else:
                    message["document"] = {"file_id": file_id, "file_unique_id": file_id}
            if "reply_markup" in params and "inline_keyboard" in params["reply_markup"]:
                message["reply_markup"] = params["reply_markup"]
            self.messages[(chat, self._next_message)] = message
            return message
        if name in ("editmessagetext", "editmessagereplymarkup"):
            key = (int(params["chat_id"]), int(params["message_id"]))
            message = self.messages[key]
            if name == "editmessagetext":
                message["text"] = params.get("text", "")
            if "reply_markup" in params:
                message["reply_markup"] = params["reply_markup"]
            else:
                message.pop("reply_markup", None)
            return message
        if name == "getfile":
            file_id = params["file_id"]
            return {
                "file_id": file_id,
                "file_unique_id": file_id,
                "file_size": len(self.files[file_id]),
                "file_path": f"photos/{file_id}.jpg",
            }  # any file: the path only names it
        return True

    async def _file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        file_id = path.removeprefix("photos/").removesuffix(".jpg")
        if request.match_info["token"] != self.token or file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id], content_type="image/jpeg")


async def _params(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    if request.content_type == "application/json":
        data: dict[str, Any] = await request.json()
        return data, {}
    form = await request.post()
    params: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    for key, value in form.items():
        if isinstance(value, web.FileField):
            files[key] = value.file.read()
            params[key] = value.filename
            continue
        if not isinstance(value, str):
            continue
        if key in JSON_FIELDS:
            params[key] = json.loads(value)
        elif key in INT_FIELDS:
            params[key] = int(value)
        else:
            params[key] = value
    for key, value in list(params.items()):  # photo=attach://<field>: the file in <field>
        if isinstance(value, str) and value.startswith("attach://"):
            field_name = value.removeprefix("attach://")
            if field_name in files:
                files[key] = files.pop(field_name)
                params[key] = params.pop(field_name, field_name)
    return params, files


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": status, "description": description}, status=status
    )
