"""A disabled webhook endpoint is mailed to its organization's admins: the session's services
(auth consuming the INTEGRATIONS stream on the real NATS) and the local SMTP server the auth
tests read. Each active admin gets one mail (also when the event comes again), nobody else."""

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import httpx
import nats

from rivet_contracts import EventEnvelope, Events, Headers
from rivet_contracts.integrations import WebhookEndpointDisabled
from rivet_devstack.testing.env import TestEnv
from rivet_devstack.testing.helpers import Session, invite_member, register
from rivet_devstack.testing.services import ServiceSet

URL = "https://erp.example.com/rivet/events?source=rivet&kind=<all>"
REASON = "every attempt of the retry schedule failed (last: HTTP 503 <Service Unavailable>)"


def _mails(services: ServiceSet, to: str, webhook_id: uuid.UUID) -> list[EmailMessage]:
    return [
        m
        for m in services.mail.received
        if m["To"] == to and str(webhook_id) in m.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    ]


async def _publish(test_env: TestEnv, event: EventEnvelope[WebhookEndpointDisabled]) -> None:
    """As the integrations service's outbox publishes it; a fresh ``Nats-Msg-Id`` each time, so
    a second publish reaches the consumer again (a redelivery the inbox must absorb)."""
    nc = await nats.connect(test_env.nats_url)
    try:
        await nc.jetstream().publish(
            f"{test_env.namespace}.{Events.WEBHOOK_ENDPOINT_DISABLED}",
            event.model_dump_json().encode(),
            headers={Headers.MSG_ID: f"{event.event_id}-{uuid.uuid4().hex[:6]}"},
        )
    finally:
        await nc.close()


def _event(org_id: str, failing_since: datetime) -> EventEnvelope[WebhookEndpointDisabled]:
    return EventEnvelope(
        type=Events.WEBHOOK_ENDPOINT_DISABLED,
        org_id=uuid.UUID(org_id),
        data=WebhookEndpointDisabled(
            webhook_id=uuid.uuid4(),
            url=URL,
            reason=REASON,
            failing_since=failing_since,
            disabled_at=datetime.now(UTC),
        ),
    )


async def _wait(
    services: ServiceSet, people: list[Session], webhook_id: uuid.UUID
) -> dict[str, list[EmailMessage]]:
    deadline = time.monotonic() + 15
    while True:
        found = {p.email: _mails(services, p.email, webhook_id) for p in people}
        if all(found.values()):
            return found
        assert time.monotonic() < deadline, f"mails never arrived: {found}"
        await asyncio.sleep(0.1)


async def test_admins_are_mailed_once_when_an_endpoint_is_disabled(
    api: httpx.AsyncClient, services: ServiceSet, test_env: TestEnv
) -> None:
    admin = await register(api)
    second = await invite_member(api, admin, "admin")
    gone = await invite_member(api, admin, "admin")
    tech = await invite_member(api, admin, "technician")
    off = await api.post(f"/api/auth/users/{gone.user['id']}/deactivate", headers=admin.headers)
    assert off.status_code == 200, off.text
    org_id = admin.user["org_id"]
    since = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)

    event = _event(org_id, since)
    webhook_id = event.data.webhook_id
    await _publish(test_env, event)
    mails = await _wait(services, [admin, second], webhook_id)

    # the same event again, then another one: when the second is mailed, the first was handled
    await _publish(test_env, event)
    later = _event(org_id, since + timedelta(hours=1))
    await _publish(test_env, later)
    await _wait(services, [admin, second], later.data.webhook_id)
    await asyncio.sleep(0.5)
    for person in (admin, second):
        assert len(_mails(services, person.email, webhook_id)) == 1, "mailed twice"
    for person in (gone, tech):
        assert not _mails(services, person.email, webhook_id), person.email
        assert not _mails(services, person.email, later.data.webhook_id), person.email

    mail = mails[admin.email][0]
    assert "disabled a webhook endpoint" in mail["Subject"]
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert URL in text
    assert REASON in text
    assert "2026-12-06 09:30 UTC" in text  # failing since
    route = f"/api/integrations/webhooks/{webhook_id}"
    assert f"PATCH {services.auth_settings().public_url.rstrip('/')}{route}" in text
    assert '{"enabled": true}' in text
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "&lt;Service Unavailable&gt;" in html
    assert "<Service Unavailable>" not in html
    assert "source=rivet&amp;kind=&lt;all&gt;" in html
    assert route in html
