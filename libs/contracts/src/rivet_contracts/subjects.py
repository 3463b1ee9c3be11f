"""Every NATS subject Rivet uses, in one place.

Event subjects equal event types and live on JetStream streams (see ``streams``). Request
subjects (``rpc.<service>.<action>``) are plain NATS request-reply, served by a queue group per
service. A deployment may put every subject under a namespace prefix (``NATS_NAMESPACE``); the
runtime adds it, so these constants never carry it.
"""

from typing import Final


class Events:
    """Domain events (past tense), published through each service's outbox."""

    USER_REGISTERED: Final = "user.registered"
    USER_INVITED: Final = "user.invited"
    USER_JOINED: Final = "user.joined"
    USER_TELEGRAM_LINKED: Final = "user.telegram_linked"
    USER_PASSWORD_CHANGED: Final = "user.password_changed"  # noqa: S105 - a subject
    USER_ROLE_CHANGED: Final = "user.role_changed"
    USER_DEACTIVATED: Final = "user.deactivated"
    USER_REACTIVATED: Final = "user.reactivated"
    USER_SESSIONS_REVOKED: Final = "user.sessions_revoked"
    ORGANIZATION_UPDATED: Final = "user.organization_updated"
    USER_EMAIL_VERIFIED: Final = "user.email_verified"
    API_KEY_CREATED: Final = "user.api_key_created"
    API_KEY_REVOKED: Final = "user.api_key_revoked"

    EQUIPMENT_CREATED: Final = "equipment.created"
    EQUIPMENT_UPDATED: Final = "equipment.updated"
    EQUIPMENT_MATCHED: Final = "equipment.matched"
    EQUIPMENT_SCAN_RESOLVED: Final = "equipment.scan_resolved"
    EQUIPMENT_ATTACHMENT_ADDED: Final = "equipment.attachment_added"
    """A file was attached to an asset (from ``attachment.added``)."""
    EQUIPMENT_ATTACHMENT_REMOVED: Final = "equipment.attachment_removed"
    """An attachment was removed from an asset (from ``attachment.removed``)."""

    WO_CREATED: Final = "wo.created"
    WO_STATUS_CHANGED: Final = "wo.status_changed"
    WO_ASSIGNED: Final = "wo.assigned"
    WO_COMMENTED: Final = "wo.commented"
    WO_UPDATED: Final = "wo.updated"
    """Priority, due date, estimate, labour, downtime, title or description changed."""
    WO_CHECKLIST_ITEM_CHECKED: Final = "wo.checklist_item_checked"
    WO_OVERDUE: Final = "wo.overdue"
    WO_ATTACHMENT_ADDED: Final = "wo.attachment_added"
    """A file was attached to a work order (from ``attachment.added``)."""
    WO_ATTACHMENT_REMOVED: Final = "wo.attachment_removed"
    """An attachment was removed from a work order (from ``attachment.removed``)."""

    NAMEPLATE_UPLOADED: Final = "nameplate.uploaded"
    NAMEPLATE_SCANNED: Final = "nameplate.scanned"

    # --- maintenance (streams MAINTENANCE and READINGS) ---
    PLAN_CREATED: Final = "plan.created"
    PLAN_UPDATED: Final = "plan.updated"
    """Title, instructions, checklist, planning fields, trigger or asset of a plan changed."""
    PLAN_PAUSED: Final = "plan.paused"
    PLAN_RESUMED: Final = "plan.resumed"
    PM_DUE: Final = "pm.due"
    """A plan's occurrence opened its work order."""
    PM_COMPLETED: Final = "pm.completed"
    METER_READING_RECORDED: Final = "meter.reading_recorded"
    METER_LIMIT_EXCEEDED: Final = "meter.limit_exceeded"
    """A gauge went out of its limits: an excursion started."""
    METER_READINGS_RECORDED: Final = "meter.readings_recorded"
    """The readings of one machine's batch (``reading.batch_submitted``) that were recorded."""
    READING_SUBMITTED: Final = "reading.submitted.*"
    """Readings sent by machines, on ``reading.submitted.<org_id>`` (``reading_subject``); the
    maintenance service consumes them. Published from outside the services, like
    ``READING_BATCH_SUBMITTED``."""
    READING_BATCH_SUBMITTED: Final = "reading.batch_submitted.*"
    """Several readings in one message from a machine or an edge gateway, on
    ``reading.batch_submitted.<org_id>`` (``reading_batch_subject``); each applied or refused
    on its own."""

    WEBHOOK_ENDPOINT_DISABLED: Final = "webhook.endpoint_disabled"
    """Rivet disabled a webhook endpoint after sustained failure (stream INTEGRATIONS)."""

    ATTACHMENT_ADDED: Final = "attachment.added"
    """A file was attached to a work order or an asset (stream ATTACHMENTS)."""
    ATTACHMENT_REMOVED: Final = "attachment.removed"

    DEAD_LETTER: Final = "deadletter"
    """Prefix: a message that failed too often is republished as ``deadletter.<consumer>``."""


class Rpc:
    """Request-reply subjects (imperative), one per action."""

    AUTH_REGISTER: Final = "rpc.auth.register"
    AUTH_LOGIN: Final = "rpc.auth.login"
    AUTH_REFRESH: Final = "rpc.auth.refresh"
    AUTH_LOGOUT: Final = "rpc.auth.logout"
    AUTH_ME: Final = "rpc.auth.me"
    AUTH_LIST_USERS: Final = "rpc.auth.list_users"
    AUTH_INVITE: Final = "rpc.auth.invite"
    AUTH_ACCEPT_INVITATION: Final = "rpc.auth.accept_invitation"
    AUTH_LIST_INVITATIONS: Final = "rpc.auth.list_invitations"
    AUTH_REVOKE_INVITATION: Final = "rpc.auth.revoke_invitation"
    AUTH_CREATE_TELEGRAM_LINK: Final = "rpc.auth.create_telegram_link"
    AUTH_REDEEM_TELEGRAM_LINK: Final = "rpc.auth.redeem_telegram_link"
    AUTH_TELEGRAM_IDENTITY: Final = "rpc.auth.telegram_identity"
    AUTH_REGISTER_TELEGRAM: Final = "rpc.auth.register_telegram"
    AUTH_JOIN_WITH_TELEGRAM: Final = "rpc.auth.join_with_telegram"
    AUTH_FORGOT_PASSWORD: Final = "rpc.auth.forgot_password"  # noqa: S105 - a subject
    AUTH_RESET_PASSWORD: Final = "rpc.auth.reset_password"  # noqa: S105 - a subject
    AUTH_CHANGE_PASSWORD: Final = "rpc.auth.change_password"  # noqa: S105 - a subject
    AUTH_CHANGE_ROLE: Final = "rpc.auth.change_role"
    AUTH_DEACTIVATE_USER: Final = "rpc.auth.deactivate_user"
    AUTH_REACTIVATE_USER: Final = "rpc.auth.reactivate_user"
    AUTH_REVOCATIONS: Final = "rpc.auth.revocations"
    AUTH_GET_ORGANIZATION: Final = "rpc.auth.get_organization"
    AUTH_AUDIT_LOG: Final = "rpc.auth.audit_log"
    AUTH_START_EMAIL_VERIFICATION: Final = "rpc.auth.start_email_verification"
    AUTH_CONFIRM_EMAIL: Final = "rpc.auth.confirm_email"
    AUTH_UPDATE_ORGANIZATION: Final = "rpc.auth.update_organization"
    AUTH_CREATE_API_KEY: Final = "rpc.auth.create_api_key"
    AUTH_LIST_API_KEYS: Final = "rpc.auth.list_api_keys"
    AUTH_REVOKE_API_KEY: Final = "rpc.auth.revoke_api_key"
    AUTH_ACTIVE_API_KEYS: Final = "rpc.auth.active_api_keys"
    AUTH_API_KEYS_USED: Final = "rpc.auth.api_keys_used"

    ASSETS_CREATE: Final = "rpc.assets.create"
    ASSETS_GET: Final = "rpc.assets.get"
    ASSETS_LIST: Final = "rpc.assets.list"
    ASSETS_EXPORT: Final = "rpc.assets.export"
    ASSETS_UPDATE: Final = "rpc.assets.update"
    ASSETS_RETIRE: Final = "rpc.assets.retire"
    ASSETS_REINSTATE: Final = "rpc.assets.reinstate"
    ASSETS_SEARCH: Final = "rpc.assets.search"
    ASSETS_HISTORY: Final = "rpc.assets.history"
    ASSETS_SET_PICTURE: Final = "rpc.assets.set_picture"
    ASSETS_IMPORT_START: Final = "rpc.assets.import_start"
    ASSETS_IMPORT_GET: Final = "rpc.assets.import_get"

    WORKORDERS_CREATE: Final = "rpc.workorders.create"
    WORKORDERS_GET: Final = "rpc.workorders.get"
    WORKORDERS_LIST: Final = "rpc.workorders.list"
    WORKORDERS_UPDATE: Final = "rpc.workorders.update"
    WORKORDERS_COMMENT: Final = "rpc.workorders.comment"
    WORKORDERS_FOR_EQUIPMENT: Final = "rpc.workorders.for_equipment"
    WORKORDERS_EQUIPMENT_FIGURES: Final = "rpc.workorders.equipment_figures"
    WORKORDERS_CHECK_ITEM: Final = "rpc.workorders.check_item"
    STATS_OVERVIEW: Final = "rpc.workorders.stats_overview"
    STATS_EQUIPMENT_HEALTH: Final = "rpc.workorders.stats_equipment_health"
    STATS_TRENDS: Final = "rpc.workorders.stats_trends"
    STATS_SUMMARY: Final = "rpc.workorders.stats_summary"
    STATS_KPIS: Final = "rpc.workorders.stats_kpis"

    MAINTENANCE_CREATE_PLAN: Final = "rpc.maintenance.create_plan"
    MAINTENANCE_UPDATE_PLAN: Final = "rpc.maintenance.update_plan"
    MAINTENANCE_PAUSE_PLAN: Final = "rpc.maintenance.pause_plan"
    MAINTENANCE_RESUME_PLAN: Final = "rpc.maintenance.resume_plan"
    MAINTENANCE_GET_PLAN: Final = "rpc.maintenance.get_plan"
    MAINTENANCE_LIST_PLANS: Final = "rpc.maintenance.list_plans"
    MAINTENANCE_CREATE_METER: Final = "rpc.maintenance.create_meter"
    MAINTENANCE_UPDATE_METER: Final = "rpc.maintenance.update_meter"
    MAINTENANCE_GET_METER: Final = "rpc.maintenance.get_meter"
    MAINTENANCE_LIST_METERS: Final = "rpc.maintenance.list_meters"
    MAINTENANCE_RECORD_READING: Final = "rpc.maintenance.record_reading"
    MAINTENANCE_LIST_READINGS: Final = "rpc.maintenance.list_readings"
    MAINTENANCE_FORECAST: Final = "rpc.maintenance.forecast"
    MAINTENANCE_OVERDUE: Final = "rpc.maintenance.overdue"
    MAINTENANCE_KPIS: Final = "rpc.maintenance.kpis"

    INTEGRATIONS_CREATE_WEBHOOK: Final = "rpc.integrations.create_webhook"
    INTEGRATIONS_UPDATE_WEBHOOK: Final = "rpc.integrations.update_webhook"
    INTEGRATIONS_GET_WEBHOOK: Final = "rpc.integrations.get_webhook"
    INTEGRATIONS_LIST_WEBHOOKS: Final = "rpc.integrations.list_webhooks"
    INTEGRATIONS_DELETE_WEBHOOK: Final = "rpc.integrations.delete_webhook"
    INTEGRATIONS_ROTATE_WEBHOOK_SECRET: Final = "rpc.integrations.rotate_webhook_secret"  # noqa: S105
    INTEGRATIONS_LIST_WEBHOOK_DELIVERIES: Final = "rpc.integrations.list_webhook_deliveries"
    INTEGRATIONS_REDELIVER_WEBHOOK: Final = "rpc.integrations.redeliver_webhook"
    INTEGRATIONS_REPLAY_WEBHOOK: Final = "rpc.integrations.replay_webhook"

    ATTACHMENTS_ADD: Final = "rpc.attachments.add"
    ATTACHMENTS_LIST: Final = "rpc.attachments.list"
    ATTACHMENTS_GET: Final = "rpc.attachments.get"
    ATTACHMENTS_UPDATE: Final = "rpc.attachments.update"
    ATTACHMENTS_DELETE: Final = "rpc.attachments.delete"
    ATTACHMENTS_USAGE: Final = "rpc.attachments.usage"

    OCR_SUBMIT: Final = "rpc.ocr.submit"
    OCR_GET_SCAN: Final = "rpc.ocr.get_scan"
    OCR_CONFIRM: Final = "rpc.ocr.confirm"
