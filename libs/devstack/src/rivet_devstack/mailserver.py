"""A local SMTP server (aiosmtpd) for `make run` and the tests: it accepts every message, keeps
it in memory and, given a folder, writes it there as an ``.eml`` file.

It can be stopped and started again on the same port, so tests can take the mail server away
and bring it back. Recipients listed in ``refuse`` are refused with 550 (a permanent failure).
"""

import email
import email.policy
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from .servers import free_port


@dataclass
class _Handler:
    folder: Path | None
    received: list[EmailMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.received.append(message)
            count = len(self.received)
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = f"{time.strftime('%Y%m%d-%H%M%S')}-{count:05d}.eml"
            (self.folder / name).write_bytes(raw)
        return "250 Message accepted"


class LocalMailServer:
    """``url`` is what ``SMTP_URL`` should say; ``received`` what arrived, oldest first."""

    def __init__(self, folder: Path | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.handler = _Handler(folder)
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[EmailMessage]:
        with self.handler.lock:
            return list(self.handler.received)

    def refuse(self, address: str) -> None:
        self.handler.refuse.add(address.lower())

    def start(self) -> "LocalMailServer":
        if self._controller is None:
            self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
            self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """At least ``count`` messages, waiting up to ``timeout`` seconds (from a thread or a
        synchronous test; async tests poll ``received``)."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.received)} of {count} messages arrived")
            time.sleep(0.05)
        return self.received
