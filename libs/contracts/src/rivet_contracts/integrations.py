"""Integrations service contracts: outbound webhooks.

An organization's admins register HTTPS endpoints that receive the organization's exported
events (``EventSpec.exported``) as signed POST requests (Standard Webhooks: headers
``webhook-id``, ``webhook-timestamp``, ``webhook-signature``). See docs/integrations.md.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, Field, StringConstraints

from .base import Done, EventData, Request, View
from .identity import Role
from .spec import EventSpec, RpcSpec
from .subjects import Events, Rpc
from .wire import Outcome

MAX_EVENT_TYPES = 50
WebhookUrl = Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=2000)]
"""An ``http://`` or ``https://`` URL; its host must not be internal (see docs)."""
EventPattern = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=100,
        pattern=r"^(\*|[a-z][a-z_]*(\.[a-z][a-z_]*)*(\.\*)?)$",
    ),
]
"""An exported event type (``wo.created``), a prefix pattern (``wo.*``) or ``*`` (all)."""
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    """Waiting for its next attempt."""
    DELIVERED = "delivered"
    """The endpoint answered 2xx."""
    FAILED = "failed"
    """Every attempt of the retry schedule failed; redeliver it by hand."""


# --- requests -----------------------------------------------------------------------------


class CreateWebhook(Request):
    """An endpoint that receives the organization's events (admins)."""

    url: WebhookUrl = Field(description="Where events are POSTed: http(s), a public host.")
    event_types: list[EventPattern] = Field(
        min_length=1,
        max_length=MAX_EVENT_TYPES,
        description="Exported event types (`wo.created`), patterns (`wo.*`) or `*`.",
    )
    description: Description | None = Field(default=None, description="For people.")
    enabled: bool = Field(default=True, description="A disabled endpoint receives nothing.")


class WebhookChanges(Request):
    """Body of ``PATCH /api/integrations/webhooks/{webhook_id}``: the fields present change."""

    url: WebhookUrl | None = Field(default=None, description="A new URL.")
    event_types: list[EventPattern] | None = Field(
        default=None, min_length=1, max_length=MAX_EVENT_TYPES, description="New event types."
    )
    description: Description | None = Field(default=None, description="New description.")
    enabled: bool | None = Field(
        default=None, description="Switch it off or on (on again after it was disabled)."
    )


class UpdateWebhook(Request):
    webhook_id: UUID = Field(description="The endpoint.")
    changes: WebhookChanges = Field(description="What to change.")


class GetWebhook(Request):
    webhook_id: UUID = Field(description="The endpoint.")


class DeleteWebhook(Request):
    webhook_id: UUID = Field(description="The endpoint.")


class RotateWebhookSecret(Request):
    webhook_id: UUID = Field(description="The endpoint.")


class ListWebhooks(Request):
    after: UUID | None = Field(
        default=None, description="The last endpoint of the previous page (none: the first)."
    )
    limit: int = Field(default=50, ge=1, le=200, description="Endpoints per page, oldest first.")


class ListWebhookDeliveries(Request):
    webhook_id: UUID = Field(description="The endpoint.")
    before: int | None = Field(
        default=None, ge=1, description="The previous page's `next_before` (none: the newest)."
    )
    limit: int = Field(default=50, ge=1, le=200, description="Attempts per page, newest first.")


class RedeliverWebhook(Request):
    webhook_id: UUID = Field(description="The endpoint.")
    delivery_id: UUID = Field(description="The delivery to send again.")


class WebhookReplay(Request):
    """Body of ``POST /api/integrations/webhooks/{webhook_id}/replay``."""

    since: AwareDatetime = Field(description="Events that occurred at or after this time.")
    until: AwareDatetime = Field(description="... and before this time.")


class ReplayWebhook(Request):
    webhook_id: UUID = Field(description="The endpoint.")
    since: AwareDatetime = Field(description="Events that occurred at or after this time.")
    until: AwareDatetime = Field(description="... and before this time.")


# --- views --------------------------------------------------------------------------------


class WebhookStats(View):
    pending: int = Field(description="Deliveries waiting for an attempt.")
    delivered: int
    failed: int = Field(description="Deliveries that used up the retry schedule.")
    last_success_at: datetime | None
    failing_since: datetime | None = Field(description="First failed attempt since a success.")


class WebhookView(View):
    id: UUID
    org_id: UUID
    url: str
    event_types: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None = Field(description="Why Rivet disabled it, if it did.")
    created_at: datetime
    updated_at: datetime
    secret_hint: str = Field(description="The last characters of the current secret.")
    previous_secret_expires_at: datetime | None = Field(
        description="After a rotation: until when the previous secret signs too."
    )
    stats: WebhookStats


class WebhookSecret(WebhookView):
    """An endpoint with its signing secret: answered only when it is created or rotated."""

    secret: str = Field(description="`whsec_` + base64: verify signatures with it; keep it.")


class WebhookPage(View):
    items: list[WebhookView]
    next_after: UUID | None = Field(description="Pass as `after` for the next page; none: last.")


class DeliveryAttemptView(View):
    id: int
    delivery_id: UUID
    event_id: UUID
    event_type: str
    attempt: int = Field(description="1 for the first attempt of the delivery.")
    attempted_at: datetime
    status_code: int | None = Field(description="The endpoint's HTTP status, if it answered.")
    duration_ms: int
    error: str | None
    delivered: bool
    delivery_status: DeliveryStatus = Field(description="The delivery's status now.")


class DeliveryLog(View):
    items: list[DeliveryAttemptView]
    next_before: int | None = Field(description="Pass as `before` for the next page; none: last.")


class Queued(View):
    queued: int = Field(description="Deliveries queued.")


# --- events -------------------------------------------------------------------------------


class WebhookEndpointDisabled(EventData):
    """Rivet disabled an endpoint after sustained failure; an admin switches it on again."""

    webhook_id: UUID
    url: str
    reason: str
    failing_since: datetime | None
    disabled_at: datetime


# --- catalogue ----------------------------------------------------------------------------

RPCS: tuple[RpcSpec[Any, Any], ...] = (
    CREATE_WEBHOOK := RpcSpec(
        Rpc.INTEGRATIONS_CREATE_WEBHOOK,
        CreateWebhook,
        WebhookSecret,
        "Register a webhook endpoint; the reply carries its secret.",
        Role.ADMIN,
        outcome=Outcome.CREATED,
        idempotent=True,
    ),
    UPDATE_WEBHOOK := RpcSpec(
        Rpc.INTEGRATIONS_UPDATE_WEBHOOK,
        UpdateWebhook,
        WebhookView,
        "Change a webhook endpoint.",
        Role.ADMIN,
    ),
    GET_WEBHOOK := RpcSpec(
        Rpc.INTEGRATIONS_GET_WEBHOOK, GetWebhook, WebhookView, "A webhook endpoint.", Role.ADMIN
    ),
    LIST_WEBHOOKS := RpcSpec(
        Rpc.INTEGRATIONS_LIST_WEBHOOKS,
        ListWebhooks,
        WebhookPage,
        "The organization's webhook endpoints, paged.",
        Role.ADMIN,
    ),
    DELETE_WEBHOOK := RpcSpec(
        Rpc.INTEGRATIONS_DELETE_WEBHOOK,
        DeleteWebhook,
        Done,
        "Delete a webhook endpoint and its deliveries.",
        Role.ADMIN,
    ),
    ROTATE_WEBHOOK_SECRET := RpcSpec(
        Rpc.INTEGRATIONS_ROTATE_WEBHOOK_SECRET,
        RotateWebhookSecret,
        WebhookSecret,
        "A new secret; the previous one signs too for the overlap.",
        Role.ADMIN,
    ),
    LIST_WEBHOOK_DELIVERIES := RpcSpec(
        Rpc.INTEGRATIONS_LIST_WEBHOOK_DELIVERIES,
        ListWebhookDeliveries,
        DeliveryLog,
        "An endpoint's delivery attempts, newest first.",
        Role.ADMIN,
    ),
    REDELIVER_WEBHOOK := RpcSpec(
        Rpc.INTEGRATIONS_REDELIVER_WEBHOOK,
        RedeliverWebhook,
        Queued,
        "Send one delivery again.",
        Role.ADMIN,
        outcome=Outcome.ACCEPTED,
    ),
    REPLAY_WEBHOOK := RpcSpec(
        Rpc.INTEGRATIONS_REPLAY_WEBHOOK,
        ReplayWebhook,
        Queued,
        "Send an endpoint's events of a time range again.",
        Role.ADMIN,
        outcome=Outcome.ACCEPTED,
    ),
)

EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        Events.WEBHOOK_ENDPOINT_DISABLED,
        WebhookEndpointDisabled,
        "A webhook endpoint was disabled after every attempt of a delivery failed.",
        exported=True,
    ),
)
