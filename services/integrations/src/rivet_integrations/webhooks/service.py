"""Webhook endpoints through the API (admins): their cursors in the organization's stream,
the delivery log, redelivery and replay.

Secrets: ``whsec_`` + base64 of 32 random bytes, answered in full only by the create and the
rotation. A rotation keeps the previous secret signing for ``WEBHOOK_SECRET_OVERLAP`` seconds:
requests then carry two signatures and a receiver that knows either verifies them.
"""

import logging
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

from ..settings import IntegrationsSettings
from ..state import IntegrationsState
from . import addresses, rules, stream
from . import repository as repo
from .channels import DELIVERIES_CHANNEL, ENDPOINTS_CHANNEL

log = logging.getLogger(__name__)

Ctx = RequestContext[IntegrationsState]
CHANNEL = DELIVERIES_CHANNEL
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


def view(
    row: RowMapping, counts: repo.Counts | None = None, end: int | None = None
) -> contract.WebhookView:
    """``end``: the last sequence of the organization's stream (None: not known)."""
    counts = counts or repo.Counts()
    behind = 0
    if row["enabled"] and end is not None and counts.stream_seq is not None:
        behind = max(end - counts.stream_seq, 0)
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
            pending=counts.pending + behind,
            delivered=counts.delivered + counts.from_stream,
            failed=counts.failed,
            last_success_at=row["last_success_at"],
            failing_since=row["failing_since"],
        ),
    )


async def _end(ctx: Ctx, org_id: UUID) -> int:
    return await stream.end(ctx.state.js, stream.Where.of(ctx.state.settings, org_id))


async def _view(ctx: Ctx, conn: AsyncConnection, row: RowMapping) -> contract.WebhookView:
    found = await repo.counts(conn, [row["id"]])
    return view(row, found.get(row["id"]), await _end(ctx, row["org_id"]))


def _with_secret(endpoint: contract.WebhookView, secret: str) -> contract.WebhookSecret:
    return contract.WebhookSecret(**endpoint.model_dump(), secret=secret)


# --- endpoints ------------------------------------------------------------------------------


async def create(ctx: Ctx, req: contract.CreateWebhook) -> contract.WebhookSecret:
    url = await _checked_url(ctx, req.url)  # may resolve a name: before the transaction
    types = _checked_types(req.event_types)
    secret = rules.new_secret()
    end = await _end(ctx, ctx.caller.org_id)  # it takes the events stored after this one
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
        await repo.insert_cursor(conn, row["id"], end)
        await notify(conn, ENDPOINTS_CHANNEL)
        return _with_secret(view(row, repo.Counts(stream_seq=end), end), secret)


async def get(ctx: Ctx, req: contract.GetWebhook) -> contract.WebhookView:
    row = await repo.get_endpoint(ctx.conn, ctx.caller.org_id, req.webhook_id)
    if row is None:
        raise _not_found()
    return await _view(ctx, ctx.conn, row)


async def list_page(ctx: Ctx, req: contract.ListWebhooks) -> contract.WebhookPage:
    rows = await repo.list_endpoints(ctx.conn, ctx.caller.org_id, req.after, req.limit + 1)
    page = rows[: req.limit]
    found = await repo.counts(ctx.conn, [r["id"] for r in page])
    end = await _end(ctx, ctx.caller.org_id) if page else None
    return contract.WebhookPage(
        items=[view(r, found.get(r["id"]), end) for r in page],
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
    end = await _end(ctx, ctx.caller.org_id) if values.get("enabled") else None
    async with ctx.transaction() as conn:
        row = await repo.get_endpoint(conn, ctx.caller.org_id, req.webhook_id, lock=True)
        if row is None:
            raise _not_found()
        if values:
            was_enabled = row["enabled"]
            row = await repo.update_endpoint(conn, row["id"], values)
            if values.get("enabled") and not was_enabled:
                # on again: it takes the events stored from now on (replay the time it was
                # off); its delivery rows go again
                await repo.position_cursor(conn, row["id"], end)
                await notify(conn, CHANNEL)
            await notify(conn, ENDPOINTS_CHANNEL)
        return await _view(ctx, conn, row)


async def delete(ctx: Ctx, req: contract.DeleteWebhook) -> Done:
    if not await repo.delete_endpoint(ctx.conn, ctx.caller.org_id, req.webhook_id):
        raise _not_found()
    await notify(ctx.conn, ENDPOINTS_CHANNEL)
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
    await notify(ctx.conn, ENDPOINTS_CHANNEL)  # its sender signs with both from now on
    return _with_secret(await _view(ctx, ctx.conn, row), secret)


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
    """A delivery row is due again now; a delivery that never needed one (delivered from the
    stream at its first attempt) gets one, its event read from the organization's stream."""
    row = await _endpoint(ctx, req.webhook_id)
    if await repo.has_delivery(ctx.conn, req.webhook_id, req.delivery_id):
        await repo.requeue(ctx.conn, req.webhook_id, req.delivery_id)
    else:
        found = await repo.logged(ctx.conn, req.webhook_id, req.delivery_id)
        if found is None or found["stream_seq"] is None:
            raise ServiceError(ErrorCode.NOT_FOUND, "delivery not found")
        where = stream.Where.of(ctx.state.settings, row["org_id"])
        event = await stream.one(ctx.state.js, where, row["org_id"], found["stream_seq"])
        if event is None or event.event_id != found["event_id"]:
            raise ServiceError(
                ErrorCode.NOT_FOUND,
                "the event of this delivery is no longer kept in the organization's stream",
            )
        await repo.store_events(ctx.conn, [event])
        item = repo.Queue(row["id"], event.event_id, attempts=int(found["attempts"] or 0))
        await repo.queue(ctx.conn, [item])
    await notify(ctx.conn, CHANNEL)
    return contract.Queued(queued=1)


async def replay(ctx: Ctx, req: contract.ReplayWebhook) -> contract.Queued:
    """Every event of the organization's stream that occurred in the range, of a type the
    endpoint takes now, gets a delivery row due now."""
    if req.until <= req.since:
        raise _invalid("until", "until must come after since")
    if req.until - req.since > MAX_REPLAY:
        raise _invalid("until", "a replay covers at most 31 days")
    row = await _endpoint(ctx, req.webhook_id)
    where = stream.Where.of(ctx.state.settings, row["org_id"])
    try:
        events = await stream.between(ctx.state.js, where, row["org_id"], req.since, req.until)
    except stream.TooMany:
        raise _invalid(
            "until",
            f"the range holds more than {stream.MAX_REPLAY} events of the organization; "
            "replay a shorter one",
        ) from None
    taken = [e for e in events if rules.wanted(row["event_types"], e.event_type)]
    if not taken:
        return contract.Queued(queued=0)
    await repo.store_events(ctx.conn, taken)
    queued = await repo.queue(ctx.conn, [repo.Queue(row["id"], e.event_id) for e in taken])
    await notify(ctx.conn, CHANNEL)
    return contract.Queued(queued=queued)
