"""What an attempt's outcome changes: the delivery's state, the endpoint's, the log.

2xx: delivered. Anything else (another status, a redirect, a network error, a refused
address): tried again after the next delay of ``WEBHOOK_SCHEDULE`` (with jitter); when the
schedule is used up the delivery is given up (``failed``, redeliver it by hand) and, unless the
endpoint succeeded since the delivery was queued, the endpoint is disabled.
"""

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_contracts import Events
from rivet_contracts.integrations import DeliveryStatus, WebhookEndpointDisabled
from rivet_runtime.jobs import JobContext, notify

from .. import metrics
from ..settings import IntegrationsSettings
from ..state import IntegrationsState
from . import repository as repo
from . import rules
from .channels import ENDPOINTS_CHANNEL
from .repository import Claimed
from .sender import Attempt

log = logging.getLogger(__name__)


async def settle(
    ctx: JobContext[IntegrationsState],
    conn: AsyncConnection,
    sent: Sequence[tuple[Claimed, Attempt]],
    settings: IntegrationsSettings,
) -> None:
    """Store a pass's outcomes in the job's transaction (``conn``), a few statements for the
    whole pass: the deliveries' states, the delivery log, the endpoints that succeeded; then,
    one by one, what failures change (an endpoint disabled emits
    ``webhook.endpoint_disabled`` in the transaction). The endpoints' rows are locked first, in
    the order of their ids."""
    if not sent:
        return
    outcomes = []
    for item, attempt in sent:
        metrics.WEBHOOK_ATTEMPTS.labels(attempt.result).inc()
        tries = item.tries + 1
        if attempt.delivered:
            outcomes.append(
                repo.Outcome(item.delivery_id, DeliveryStatus.DELIVERED.value, tries, None)
            )
            continue
        delay = rules.retry_delay(settings.webhook_schedule, tries)
        status = DeliveryStatus.FAILED if delay is None else DeliveryStatus.PENDING
        outcomes.append(repo.Outcome(item.delivery_id, status.value, tries, delay))
    endpoints = await repo.lock_endpoints(conn, [item.endpoint_id for item, _ in sent])
    kept = await repo.settle_many(conn, outcomes)  # a deleted endpoint took its deliveries
    done = [(i, a, o) for (i, a), o in zip(sent, outcomes, strict=True) if i.delivery_id in kept]
    await repo.record_attempts(
        conn,
        [
            {
                "delivery_id": item.delivery_id,
                "endpoint_id": item.endpoint_id,
                "attempt": item.attempts,
                "attempted_at": attempt.at,
                "status_code": attempt.status_code,
                "duration_ms": attempt.duration_ms,
                "error": attempt.error,
                "delivered": attempt.delivered,
                "event_id": item.event_id,
                "event_type": item.event_type,
            }
            for item, attempt, _ in done
        ],
    )
    succeeded = {item.endpoint_id for item, attempt, _ in done if attempt.delivered}
    await repo.succeeded(conn, list(succeeded))
    for item, attempt, outcome in done:
        endpoint = endpoints.get(item.endpoint_id)
        if attempt.delivered or endpoint is None:
            continue
        if item.endpoint_id in succeeded:  # it answered 2xx in this pass
            endpoint = endpoint | {"last_success_at": datetime.now(UTC), "failing_since": None}
        endpoints[item.endpoint_id] = await _failed(ctx, conn, item, attempt, outcome, endpoint)


async def _failed(
    ctx: JobContext[IntegrationsState],
    conn: AsyncConnection,
    item: Claimed,
    attempt: Attempt,
    outcome: repo.Outcome,
    endpoint: dict[str, Any],
) -> dict[str, Any]:
    """The endpoint is failing (since its first failure after a success); a delivery given up
    disables it unless it succeeded since that delivery was queued. Answers the endpoint as it
    is now (for the pass's next failure of the same endpoint)."""
    changes: dict[str, object] = {"failing_since": repo.failing_since(attempt.at)}
    if outcome.status == DeliveryStatus.FAILED.value:
        metrics.WEBHOOK_GIVEN_UP.inc()
        success = endpoint["last_success_at"]
        if endpoint["enabled"] and (success is None or success < item.queued_at):
            reason = (
                f"every attempt of the retry schedule failed since "
                f"{item.queued_at.isoformat(timespec='seconds')} (last: {attempt.error})"
            )
            changes |= {"enabled": False, "disabled_reason": reason, "updated_at": func.now()}
            event = WebhookEndpointDisabled(
                webhook_id=item.endpoint_id,
                url=endpoint["url"],
                reason=reason,
                failing_since=endpoint["failing_since"] or attempt.at,
                disabled_at=datetime.now(UTC),
            )
            await ctx.emit(Events.WEBHOOK_ENDPOINT_DISABLED, event, org_id=endpoint["org_id"])
            await notify(conn, ENDPOINTS_CHANNEL)  # its owner stops sending at once
            metrics.WEBHOOK_DISABLED.inc()
            endpoint = endpoint | {"enabled": False}
            log.warning(
                "webhook endpoint %s of organization %s disabled: %s",
                item.endpoint_id,
                endpoint["org_id"],
                attempt.error,
            )
    await repo.mark_endpoint(conn, item.endpoint_id, changes)
    return endpoint | {"failing_since": endpoint["failing_since"] or attempt.at}
