"""What an attempt's outcome changes: the delivery's state, the endpoint's, the log.

2xx: delivered. Anything else (another status, a redirect, a network error, a refused
address): tried again after the next delay of ``WEBHOOK_SCHEDULE`` (with jitter); when the
schedule is used up the delivery is given up (``failed``, redeliver it by hand) and, unless the
endpoint succeeded since the delivery was queued, the endpoint is disabled.
"""

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_contracts import Events
from rivet_contracts.integrations import DeliveryStatus, WebhookEndpointDisabled
from rivet_runtime.jobs import JobContext

from .. import metrics
from ..settings import IntegrationsSettings
from ..state import IntegrationsState
from . import repository as repo
from . import rules
from .repository import Claimed, E
from .sender import Attempt

log = logging.getLogger(__name__)


async def settle(
    ctx: JobContext[IntegrationsState],
    conn: AsyncConnection,
    item: Claimed,
    attempt: Attempt,
    settings: IntegrationsSettings,
) -> None:
    """In the job's transaction (``conn``); disabling an endpoint emits
    ``webhook.endpoint_disabled`` in it."""
    metrics.WEBHOOK_ATTEMPTS.labels(attempt.result).inc()
    tries = item.tries + 1
    if attempt.delivered:
        values = {"status": DeliveryStatus.DELIVERED.value, "tries": tries, "lease_until": None}
    else:
        delay = rules.retry_delay(settings.webhook_schedule, tries)
        if delay is None:
            values = {"status": DeliveryStatus.FAILED.value, "tries": tries, "lease_until": None}
        else:
            values = {
                "tries": tries,
                "lease_until": None,
                "next_attempt_at": func.now() + timedelta(seconds=delay),
            }
    if not await repo.settle(conn, item.delivery_id, values):
        return  # the endpoint was deleted meanwhile
    await repo.record_attempt(
        conn,
        {
            "delivery_id": item.delivery_id,
            "endpoint_id": item.endpoint_id,
            "attempt": item.attempts,
            "attempted_at": attempt.at,
            "status_code": attempt.status_code,
            "duration_ms": attempt.duration_ms,
            "error": attempt.error,
            "delivered": attempt.delivered,
        },
    )
    if attempt.delivered:
        await repo.mark_endpoint(
            conn, item.endpoint_id, {"last_success_at": func.now(), "failing_since": None}
        )
        return
    endpoint = await repo.endpoint_for_update(conn, item.endpoint_id)
    if endpoint is None:
        return
    changes: dict[str, object] = {"failing_since": func.coalesce(E.c.failing_since, func.now())}
    if values.get("status") == DeliveryStatus.FAILED.value:
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
            metrics.WEBHOOK_DISABLED.inc()
            log.warning(
                "webhook endpoint %s of organization %s disabled: %s",
                item.endpoint_id,
                endpoint["org_id"],
                attempt.error,
            )
    await repo.mark_endpoint(conn, item.endpoint_id, changes)
