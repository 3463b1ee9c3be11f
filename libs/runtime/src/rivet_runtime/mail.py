"""Mail: written to the service's mail outbox in the transaction that decides to send it, sent
afterwards by the runtime's ``mail`` job through SMTP; nothing is lost when the SMTP server,
the database or the service is away.

- ``await mail.queue(ctx.conn, Mail(key=..., to=..., subject=..., text=..., html=...))`` in a
  unit of work adds one row to ``mail_outbox`` and wakes the job at commit (``key`` makes it
  idempotent: a retried request or a redelivered event queues the mail once). Mail holding a
  secret (a reset link, an invitation) goes this way and never through a stream. The table is
  ``rivet_runtime.tables.add_mail_table``; a migration creates it with
  ``rivet_runtime.migrations.create_mail_table``.
- The ``mail`` job leases a batch (``FOR UPDATE SKIP LOCKED``: replicas share the work, and a
  lease that runs out after a crash makes the rows due again), sends each through ``SMTP_URL``
  and deletes what the server accepted. A temporary failure (no connection, a 4xx answer) is
  retried with a growing delay for ``MAIL_MAX_AGE`` seconds; a permanent one (a 5xx answer, the
  recipient refused) or an expired row is kept with ``failed_at`` and its error, for people to
  look at, and counted (``rivet_mail_total{result="failed"}``).
- Each message's ``Message-ID`` is derived from its key: if the process dies between the
  server's acceptance and the delete, the copy sent again carries the same id.

Without ``SMTP_URL`` the rows wait (a warning at start): `make run` and the tests start a local
SMTP server and set it.

Templates (``MailTemplates``) are Jinja2 files beside the service's code: ``<name>.subject``,
``<name>.txt`` and, optionally, ``<name>.html`` (autoescaped).
"""

import hashlib
import logging
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from .jobs import JobContext, JobRouter, notify
from .metrics import MAIL_BACKLOG, MAILS

log = logging.getLogger(__name__)

CHANNEL = "rivet_mail"
"""Commit notifications that wake the ``mail`` job (every service that sends mail listens)."""
BATCH = 20
LEASE_SECONDS = 120.0
SMTP_TIMEOUT = 20.0


@dataclass(frozen=True)
class Mail:
    key: str
    """One mail per key in a service (e.g. ``reset:<token id>``): queuing it again is a no-op."""
    to: str
    subject: str
    text: str
    html: str | None = None


# --- queuing ------------------------------------------------------------------------------

_QUEUE = text(
    "INSERT INTO mail_outbox (key, to_address, subject, text_body, html_body) "
    "VALUES (:key, :to, :subject, :text, :html) ON CONFLICT (key) DO NOTHING"
)


async def queue(conn: AsyncConnection, mail: Mail) -> None:
    """Add ``mail`` to the outbox in the caller's transaction; sent once it commits."""
    await conn.execute(
        _QUEUE,
        {
            "key": mail.key,
            "to": mail.to,
            "subject": mail.subject,
            "text": mail.text,
            "html": mail.html,
        },
    )
    await notify(conn, CHANNEL)


# --- templates ---------------------------------------------------------------------------


class MailTemplates:
    """Jinja2 templates of one service: ``<name>.subject``, ``<name>.txt``, ``<name>.html``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = Environment(
            loader=FileSystemLoader(folder),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    def render(self, template: str, /, *, key: str, to: str, **params: Any) -> Mail:
        """The mail ``template`` makes with ``params`` (every name it uses must be given)."""
        subject = self.env.get_template(f"{template}.subject").render(**params)
        body = self.env.get_template(f"{template}.txt").render(**params)
        html = (
            self.env.get_template(f"{template}.html").render(**params)
            if (self.folder / f"{template}.html").exists()
            else None
        )
        return Mail(key=key, to=to, subject=" ".join(subject.split()), text=body, html=html)


# --- SMTP --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpServer:
    """Where mail goes: ``smtp://[user:password@]host[:port][?starttls=true]`` (port 25,
    STARTTLS when asked) or ``smtps://...`` (TLS from the first byte, port 465)."""

    host: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool

    @classmethod
    def parse(cls, url: str) -> "SmtpServer":
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:password@host:587?starttls=true")
        tls = parts.scheme == "smtps"
        query = parse_qs(parts.query)
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if tls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=tls,
            start_tls=query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes"),
        )

    async def send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(
            message,
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.use_tls,
            start_tls=self.start_tls if not self.use_tls else False,
            tls_context=ssl.create_default_context() if self.use_tls or self.start_tls else None,
            timeout=SMTP_TIMEOUT,
        )


def message_id(key: str, sender: str) -> str:
    """The same ``Message-ID`` every time a mail is sent (see the module's docstring)."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "rivet.invalid"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def build_message(row: Any, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr(parseaddr(row.to_address))
    message["Subject"] = row.subject
    message["Message-ID"] = message_id(row.key, sender)
    message["Date"] = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    message.set_content(row.text_body)
    if row.html_body:
        message.add_alternative(row.html_body, subtype="html")
    return message


def permanent(exc: Exception) -> bool:
    """The server refused for good (5xx, recipients refused): sending again cannot help."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return True
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return 500 <= exc.code < 600
    return False


# --- the job -----------------------------------------------------------------------------

_LEASE = text(
    "UPDATE mail_outbox SET next_attempt_at = now() + make_interval(secs => :lease) "
    "WHERE id = ANY(ARRAY(SELECT id FROM mail_outbox WHERE failed_at IS NULL "
    "AND next_attempt_at <= now() ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED)) "
    "RETURNING id, key, to_address, subject, text_body, html_body, attempts, created_at"
)
_SENT = text("DELETE FROM mail_outbox WHERE id = :id")
_LATER = text(
    "UPDATE mail_outbox SET next_attempt_at = now() + make_interval(secs => :delay), "
    "attempts = attempts + 1, last_error = :error WHERE id = :id"
)
_FAILED = text(
    "UPDATE mail_outbox SET failed_at = now(), attempts = attempts + 1, last_error = :error "
    "WHERE id = :id"
)
_BACKLOG = text("SELECT count(*) FROM mail_outbox WHERE failed_at IS NULL")

jobs: JobRouter[Any] = JobRouter()


def _poll(settings: Any) -> float:
    return float(settings.mail_poll)


@jobs.queue("mail", channel=CHANNEL, poll=_poll)
async def send_due(ctx: JobContext[Any]) -> int:
    """One pass: lease a batch and send it; returns the rows handled."""
    settings: Any = ctx.settings
    service = settings.service_name
    if not settings.smtp_url:
        return 0
    server = SmtpServer.parse(settings.smtp_url)
    async with ctx.transaction() as conn:
        rows = (await conn.execute(_LEASE, {"lease": LEASE_SECONDS, "limit": BATCH})).all()
        MAIL_BACKLOG.labels(service).set(int(await conn.scalar(_BACKLOG) or 0))
    for row in rows:
        try:
            await server.send(build_message(row, settings.mail_from))
        except Exception as exc:
            await _retry_or_fail(ctx, row, exc)
        else:
            MAILS.labels(service, "sent").inc()
            async with ctx.transaction() as conn:
                await conn.execute(_SENT, {"id": row.id})
    return len(rows)


async def _retry_or_fail(ctx: JobContext[Any], row: Any, exc: Exception) -> None:
    settings: Any = ctx.settings
    service = settings.service_name
    age = (datetime.now(UTC) - row.created_at).total_seconds()
    error = repr(exc)[:500]
    if permanent(exc) or age > settings.mail_max_age:
        MAILS.labels(service, "failed").inc()
        log.error("mail %s to %s given up: %s", row.key, row.to_address, error)
        params: dict[str, Any] = {"id": row.id, "error": error}
        statement = _FAILED
    else:
        MAILS.labels(service, "retry").inc()
        log.warning("mail %s not sent yet (attempt %d): %s", row.key, row.attempts + 1, error)
        delay = min(2.0 ** min(row.attempts, 9), 600.0)
        params = {"id": row.id, "error": error, "delay": delay}
        statement = _LATER
    async with ctx.transaction() as conn:
        await conn.execute(statement, params)
