"""Mail through a real local SMTP server: queued in a transaction, sent after the commit, once
per key, kept through an SMTP outage and sent once when the server returns, given up on a
permanent refusal; templates escape what goes into HTML."""

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import create_async_engine

from rivet_devstack.mailserver import LocalMailServer
from rivet_devstack.testing.env import TestEnv
from rivet_runtime import mail
from rivet_runtime.db import Database, async_url
from rivet_runtime.jobs import JobRunner
from rivet_runtime.listener import CommitListener
from rivet_runtime.settings import MailSettings
from rivet_runtime.tables import add_job_table, add_mail_table

SCHEMA = "mail_test"


async def _create_schema(url: str) -> None:
    metadata = MetaData(schema=SCHEMA)
    add_job_table(metadata)
    add_mail_table(metadata)
    engine = create_async_engine(async_url(url))
    async with engine.begin() as conn:
        await conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        await conn.run_sync(metadata.create_all)
    await engine.dispose()


class Sender:
    """The ``mail`` job of one service process, on a schema of its own."""

    def __init__(self, db: Database, settings: MailSettings) -> None:
        self.db = db
        self.listener = CommitListener(db)
        self.runner = JobRunner(settings, db, None, mail.jobs.jobs, self.listener)

    async def queue(self, *mails: mail.Mail) -> None:
        async with self.db.transaction() as conn:
            for one in mails:
                await mail.queue(conn, one)

    async def rows(self) -> list[tuple[str, int, bool, str | None]]:
        async with self.db.transaction() as conn:
            found = await conn.execute(
                text("SELECT key, attempts, failed_at IS NOT NULL, last_error FROM mail_outbox")
            )
            return [tuple(r) for r in found.all()]  # type: ignore[misc]


@pytest.fixture
def smtp() -> AsyncIterator[LocalMailServer]:
    server = LocalMailServer().start()
    yield server  # type: ignore[misc]
    server.stop()


@pytest.fixture
async def sender(
    test_env: TestEnv, isolated_database: str, smtp: LocalMailServer
) -> AsyncIterator[Sender]:
    await _create_schema(isolated_database)
    settings = MailSettings(
        **test_env.common()
        | {
            "service_name": "mail-test",
            "smtp_url": smtp.url,
            "mail_from": "Rivet <rivet@example.com>",
            "mail_poll": 2.0,  # retries are picked up by the poll
        }
    )
    db = Database(isolated_database, SCHEMA)
    one = Sender(db, settings)
    await one.runner.start()
    try:
        yield one
    finally:
        await one.runner.stop()
        await one.listener.close()
        await db.dispose()


async def _arrived(smtp: LocalMailServer, count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while len(smtp.received) < count:
        assert time.monotonic() < deadline, f"{len(smtp.received)} of {count} mails arrived"
        await asyncio.sleep(0.05)


async def test_a_mail_leaves_after_the_commit_once_per_key(
    sender: Sender, smtp: LocalMailServer
) -> None:
    hello = mail.Mail(
        key="hello:1", to="Ana Lopez <ana@example.com>", subject="Hello", text="Plain text",
        html="<p>HTML</p>",
    )  # fmt: skip
    started = time.monotonic()
    await sender.queue(hello, hello)  # the same key twice: one mail
    await _arrived(smtp, 1)
    assert time.monotonic() - started < 1.5  # woken at commit, not by the poll
    await asyncio.sleep(0.5)
    (got,) = smtp.received
    assert got["To"] == "Ana Lopez <ana@example.com>"
    assert got["From"] == "Rivet <rivet@example.com>"
    assert got["Subject"] == "Hello"
    assert got["Message-ID"] == mail.message_id("hello:1", "Rivet <rivet@example.com>")
    assert got.get_body(("plain",)).get_content().strip() == "Plain text"  # type: ignore[union-attr]
    assert got.get_body(("html",)).get_content().strip() == "<p>HTML</p>"  # type: ignore[union-attr]
    assert await sender.rows() == []  # sent: gone from the outbox
    await sender.queue(hello)  # the key was sent and forgotten: a new queueing is a new mail
    await _arrived(smtp, 2)


async def test_a_mail_waits_out_an_smtp_outage_and_is_sent_once(
    sender: Sender, smtp: LocalMailServer
) -> None:
    smtp.stop()
    await sender.queue(mail.Mail(key="outage:1", to="bo@example.com", subject="S", text="T"))
    deadline = time.monotonic() + 10
    while not (rows := await sender.rows()) or rows[0][1] < 1:
        assert time.monotonic() < deadline, rows
        await asyncio.sleep(0.1)
    key, _, failed, error = rows[0]
    assert (key, failed) == ("outage:1", False)
    assert error  # why it waits
    smtp.start()  # back on the same port: the next retry (within seconds) delivers it
    await _arrived(smtp, 1, timeout=20)
    await asyncio.sleep(1.0)
    assert [m["To"] for m in smtp.received] == ["bo@example.com"]
    assert await sender.rows() == []


async def test_a_refused_recipient_is_given_up_and_kept(
    sender: Sender, smtp: LocalMailServer
) -> None:
    smtp.refuse("nobody@example.com")
    await sender.queue(
        mail.Mail(key="refused:1", to="nobody@example.com", subject="S", text="T"),
        mail.Mail(key="fine:1", to="cy@example.com", subject="S", text="T"),
    )
    await _arrived(smtp, 1)
    deadline = time.monotonic() + 10
    while not (rows := await sender.rows()) or not rows[0][2]:
        assert time.monotonic() < deadline, rows
        await asyncio.sleep(0.1)
    assert [(k, failed) for k, _, failed, _ in rows] == [("refused:1", True)]
    assert "550" in (rows[0][3] or "")
    assert [m["To"] for m in smtp.received] == ["cy@example.com"]


def test_templates_escape_html_and_not_text(tmp_path: Path) -> None:
    (tmp_path / "welcome.subject").write_text("Welcome to {{ org }}\n")
    (tmp_path / "welcome.txt").write_text("Hello {{ name }}, see {{ link }}\n")
    (tmp_path / "welcome.html").write_text('<p>Hello {{ name }}, <a href="{{ link }}">go</a></p>\n')
    templates = mail.MailTemplates(tmp_path)
    name = "<script>alert(1)</script> & Co"
    out = templates.render(
        "welcome", key="w:1", to="x@example.com", org="Acme", name=name,
        link="https://rivet.example.com/reset?t=a&b=1",
    )  # fmt: skip
    assert out.subject == "Welcome to Acme"
    assert name in out.text
    assert out.html is not None
    assert "<script>" not in out.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in out.html
    assert 'href="https://rivet.example.com/reset?t=a&amp;b=1"' in out.html
    with pytest.raises(Exception, match="undefined"):
        templates.render("welcome", key="w:2", to="x@example.com", org="Acme")


def test_smtp_urls() -> None:
    plain = mail.SmtpServer.parse("smtp://127.0.0.1:2525")
    assert (plain.host, plain.port, plain.use_tls, plain.start_tls) == (
        "127.0.0.1",
        2525,
        False,
        False,
    )
    secure = mail.SmtpServer.parse("smtps://user%40x:p%3Ass@mail.example.com")
    assert (secure.port, secure.use_tls, secure.username, secure.password) == (
        465, True, "user@x", "p:ss",
    )  # fmt: skip
    assert mail.SmtpServer.parse("smtp://m.example.com:587?starttls=true").start_tls
    with pytest.raises(ValueError, match="SMTP_URL"):
        mail.SmtpServer.parse("http://m.example.com")
