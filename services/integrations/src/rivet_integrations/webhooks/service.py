"""Webhook endpoints through the API (admins), the queueing of events for them, and what an
attempt's outcome changes.

Secrets: ``whsec_`` + base64 of 32 random bytes, answered in full only by the create and the
rotation. A rotation keeps the previous secret signing for ``WEBHOOK_SECRET_OVERLAP`` seconds:
requests then carry two signatures and a receiver that knows either verifies them.
"""

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import func
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_contracts import Done, ErrorCode, ServiceError
from rivet_contracts import integrations as contract
from rivet_runtime import RequestContext
from rivet_runtime.jobs import notify

from .. import metrics
from ..settings import IntegrationsSettings
from ..state import IntegrationsState
from . import addresses, rules
from . import repository as repo

log = logging.getLogger(__name__)

Ctx = RequestContext[IntegrationsState]
CHANNEL = "integrations_webhooks"
"""The commit notification that wakes the delivery job."""
MAX_REPLAY = timedelta(days=31)


def policy(settings: IntegrationsSettings) -> addresses.Policy:
    return addresses.Policy.of(settings.webhook_allowed_hosts, settings.webhook_allow_private)


def _invalid(field: str, message: str, kind: str = "value_error") -> ServiceError:
    return ServiceError(
        ErrorCode.VALIDATION, message, details=[{"loc": [field], "msg": message, "type": kind}]
    )


def _not_found() -> ServiceError:
    return ServiceError(ErrorCode.NOT_FOUND, "webhook endpoint not found")


async def _checked_url(ctx: Ctx, url: str) -> str:
    try:
        await addresses.check(url, policy(ctx.state.settings))
    except addresses.Refused as exc:
        raise _invalid(
            "url", f"this URL cannot receive webhooks: {exc.message}", "url_refused"
        ) from None
    return url


def _checked_types(types: list[str]) -> list[str]:
    unknown = rules.unknown_patterns(types)
    if unknown:
        raise _invalid(
            "event_types",
            f"no exported event is called {', '.join(unknown)}; see docs/integrations.md",
            "unknown_event_type",
        )
    return list(dict.fromkeys(types))


def view(row: RowMapping, counts: repo.Counts | None = None) -> contract.WebhookView:
    counts = counts or repo.Counts()
    expires = row["previous_secret_expires_at"]
    return contract.WebhookView(
        id=row["id"],
        org_id=row["org_id"],
        url=row["url"],
        event_types=list(row["event_types"]),
        description=row["description"],
        enabled=row["enabled"],
        disabled_reason=row["disabled_reason"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        secret_hint=rules.hint(row["secret"]),
        previous_secret_expires_at=expires if expires and expires > datetime.now(UTC) else None,
        stats=contract.WebhookStats(
            pending=counts.pending,
            delivered=counts.delivered,
            failed=counts.failed,
            last_success_at=row["last_success_at"],
            failing_since=row["failing_since"],
        ),
    )


async def _view(conn: AsyncConnection, row: RowMapping) -> contract.WebhookView:
    found = await repo.counts(conn, [row["id"]])
    return view(row, found.get(row["id"]))


def _with_secret(endpoint: contract.WebhookView, secret: str) -> contract.WebhookSecret:
    return contract.WebhookSecret(**endpoint.model_dump(), secret=secret)


# --- endpoints ------------------------------------------------------------------------------


async def create(ctx: Ctx, req: contract.CreateWebhook) -> contract.WebhookSecret:
    url = await _checked_url(ctx, req.url)  # may resolve a name: before the transaction
    types = _checked_types(req.event_types)
    secret = rules.new_secret()
    async with ctx.transaction() as conn:
        row = await repo.insert_endpoint(
            conn,
            {
                "id": uuid4(),
                "org_id": ctx.caller.org_id,
                "url": url,
                "event_types": types,
                "description": req.description or None,
                "enabled": req.enabled,
                "secret": secret,
            },
        )
        return _with_secret(view(row), secret)


async def get(ctx: Ctx, req: contract.GetWebhook) -> contract.WebhookView:
    row = await repo.get_endpoint(ctx.conn, ctx.caller.org_id, req.webhook_id)
    if row is None:
        raise _not_found()
    return await _view(ctx.conn, row)


async def list_page(ctx: Ctx, req: contract.ListWebhooks) -> contract.WebhookPage:
    rows = await repo.list_endpoints(ctx.conn, ctx.caller.org_id, req.after, req.limit + 1)
    page = rows[: req.limit]
    found = await repo.counts(ctx.conn, [r["id"] for r in page])
    return contract.WebhookPage(
        items=[view(r, found.get(r["id"])) for r in page],
        next_after=page[-1]["id"] if len(rows) > req.limit else None,
    )


async def update(ctx: Ctx, req: contract.UpdateWebhook) -> contract.WebhookView:
    changes = req.changes.model_dump(exclude_unset=True)
    values: dict[str, Any] = {}
    if changes.get("url") is not None:
        values["url"] = await _checked_url(ctx, changes["url"])
    if changes.get("event_types") is not None:
        values["event_types"] = _checked_types(changes["event_types"])
    if "description" in changes:
        values["description"] = changes["description"] or None
    if changes.get("enabled") is not None:
        values["enabled"] = changes["enabled"]
        if changes["enabled"]:  # on again: a fresh start
            values |= {"disabled_reason": None, "failing_since": None}
    async with ctx.transaction() as conn:
        row = await repo.get_endpoint(conn, ctx.caller.org_id, req.webhook_id, lock=True)
        if row is None:
            raise _not_found()
        if values:
            row = await repo.update_endpoint(conn, row["id"], values)
            if values.get("enabled"):
                await notify(conn, CHANNEL)  # its pending deliveries may go again
        return await _view(conn, row)


async def delete(ctx: Ctx, req: contract.DeleteWebhook) -> Done:
    if not await repo.delete_endpoint(ctx.conn, ctx.caller.org_id, req.webhook_id):
        raise _not_found()
    return Done()


async def rotate(ctx: Ctx, req: contract.RotateWebhookSecret) -> contract.WebhookSecret:
    secret = rules.new_secret()
    overlap = timedelta(seconds=ctx.state.settings.webhook_secret_overlap)
    row = await repo.get_endpoint(ctx.conn, ctx.caller.org_id, req.webhook_id, lock=True)
    if row is None:
        raise _not_found()
    row = await repo.update_endpoint(
        ctx.conn,
        row["id"],
        {
            "secret": secret,
            "previous_secret": row["secret"],
            "previous_secret_expires_at": func.now() + overlap,
        },
    )
    return _with_secret(await _view(ctx.conn, row), secret)


# --- the delivery log, redelivery, replay -------------------------------------------------------


async def _endpoint(ctx: Ctx, webhook_id: UUID) -> RowMapping:
    row = await repo.get_endpoint(ctx.conn, ctx.caller.org_id, webhook_id)
    if row is None:
        raise _not_found()
    return row


async def deliveries(ctx: Ctx, req: contract.ListWebhookDeliveries) -> contract.DeliveryLog:
    await _endpoint(ctx, req.webhook_id)
    rows = await repo.attempts_page(ctx.conn, req.webhook_id, req.before, req.limit + 1)
    page = rows[: req.limit]
    return contract.DeliveryLog(
        items=[contract.DeliveryAttemptView.model_validate(dict(r)) for r in page],
        next_before=page[-1]["id"] if len(rows) > req.limit else None,
    )


async def redeliver(ctx: Ctx, req: contract.RedeliverWebhook) -> contract.Queued:
    await _endpoint(ctx, req.webhook_id)
    if not await repo.requeue(ctx.conn, req.webhook_id, req.delivery_id):
        raise ServiceError(ErrorCode.NOT_FOUND, "delivery not found")
    await notify(ctx.conn, CHANNEL)
    return contract.Queued(queued=1)


async def replay(ctx: Ctx, req: contract.ReplayWebhook) -> contract.Queued:
    if req.until <= req.since:
        raise _invalid("until", "until must come after since")
    if req.until - req.since > MAX_REPLAY:
        raise _invalid("until", "a replay covers at most 31 days")
    row = await _endpoint(ctx, req.webhook_id)
    present = await repo.event_types_between(ctx.conn, row["org_id"], req.since, req.until)
    types = [t for t in present if rules.wanted(row["event_types"], t)]
    queued = await repo.replay(ctx.conn, row["id"], row["org_id"], types, req.since, req.until)
    if queued:
        await notify(ctx.conn, CHANNEL)
    return contract.Queued(queued=queued)


# --- queueing events (the exporter, in its batch) -----------------------------------------------


async def enqueue(conn: AsyncConnection, events: Sequence[repo.EventRow]) -> int:
    """Store the events some enabled endpoint of their organization takes and queue a delivery
    per (event, endpoint), in the caller's transaction. An event stored before (a redelivery of
    it to the exporter) queues nothing: the events table is the webhooks' inbox."""
    if not events:
        return 0
    endpoints = await repo.enabled_endpoints(conn, list({e.org_id for e in events}))
    if not endpoints:
        return 0
    takers = {
        e.event_id: [
            p["id"]
            for p in endpoints
            if p["org_id"] == e.org_id and rules.wanted(p["event_types"], e.event_type)
        ]
        for e in events
    }
    wanted = [e for e in events if takers[e.event_id]]
    new = await repo.store_events(conn, wanted)
    pairs = [
        (endpoint, e.event_id)
        for e in wanted
        if e.event_id in new
        for endpoint in takers[e.event_id]
    ]
    queued = await repo.queue(conn, pairs)
    if queued:
        await notify(conn, CHANNEL)
        metrics.WEBHOOK_QUEUED.inc(queued)
    return queued
