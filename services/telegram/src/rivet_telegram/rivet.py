"""Requests to Rivet's services over NATS, the same ones the gateway sends.

The bot has no rights of its own: every request about a user's data carries that user's
identity headers (resolved from their Telegram id) and ``Rivet-Channel: telegram``, so each
service applies its usual role checks and organization scoping, and records ``telegram`` as the
source of what the user creates. Only the four auth requests that turn a Telegram id into an
identity are sent without one.

Failures come out as two exceptions: ``RivetUnavailable`` (nobody answered, too slow, the bus is
down, or the service failed internally: the user should simply try again) and ``RivetError``
(the service refused with a reason the user can act on).
"""

from typing import TypeVar
from uuid import UUID

from pydantic import BaseModel

from rivet_contracts import (
    ErrorCode,
    ErrorInfo,
    Identity,
    Request,
    Role,
    ServiceError,
    auth,
    ocr,
)
from rivet_contracts import assets as eq
from rivet_contracts import attachments as att
from rivet_contracts import maintenance as pm
from rivet_contracts import workorders as wo
from rivet_contracts.catalog import RpcSpec
from rivet_runtime.client import CallMeta, RpcClient

from .settings import TelegramSettings

RequestT = TypeVar("RequestT", bound=Request)
ReplyT = TypeVar("ReplyT", bound=BaseModel)

CHANNEL = "telegram"
METERS_SHOWN = 50
"""Meters of one asset the bot lists (buttons, the card) at most."""
ATTACHMENTS_PAGE = 200
"""Attachments asked for a page (the contract's most)."""
_RETRYABLE = {ErrorCode.UNAVAILABLE, ErrorCode.TIMEOUT, ErrorCode.INTERNAL}


class RivetUnavailable(Exception):
    """A service did not answer, or failed on its side: worth trying again later."""


class RivetError(Exception):
    """A service refused the request (not found, forbidden, invalid, conflict, ...)."""

    def __init__(self, info: ErrorInfo) -> None:
        super().__init__(info.message)
        self.info = info

    @property
    def code(self) -> ErrorCode:
        return self.info.code


class Rivet:
    """Sends requests through the service runtime's client."""

    def __init__(self, client: RpcClient, settings: TelegramSettings) -> None:
        self.client = client
        self.settings = settings

    async def call(
        self,
        spec: RpcSpec[RequestT, ReplyT],
        request: RequestT,
        *,
        identity: Identity | None,
        correlation_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> ReplyT:
        """Send ``request`` as ``identity`` (None: as nobody yet); the reply as ``spec.reply``,
        ``RivetUnavailable`` or ``RivetError``. ``idempotency_key`` goes to subjects that take
        one (a repeat answers the first reply)."""
        meta = CallMeta(identity, correlation_id, CHANNEL, idempotency_key)
        timeout = self.settings.rpc_timeout
        try:
            return await self.client.call(spec, request, meta, timeout=timeout)
        except ServiceError as exc:
            if exc.code in _RETRYABLE:
                raise RivetUnavailable(f"{spec.subject}: {exc.code.value}: {exc}") from None
            raise RivetError(exc.info) from None

    # --- identity (no caller yet) -------------------------------------------------------

    async def telegram_identity(self, telegram_user_id: int) -> auth.TelegramIdentity | None:
        """Who this Telegram user is in Rivet; None when the account is not linked."""
        request = auth.GetTelegramIdentity(telegram_user_id=telegram_user_id)
        try:
            return await self.call(auth.TELEGRAM_IDENTITY, request, identity=None)
        except RivetError as exc:
            if exc.code is ErrorCode.NOT_FOUND:
                return None
            raise

    async def redeem_link(
        self, code: str, telegram_user_id: int, username: str | None
    ) -> auth.TelegramIdentity:
        request = auth.RedeemTelegramLink(
            code=code, telegram_user_id=telegram_user_id, telegram_username=username
        )
        return await self.call(auth.REDEEM_TELEGRAM_LINK, request, identity=None)

    async def register(
        self, telegram_user_id: int, full_name: str, username: str | None
    ) -> auth.TelegramIdentity:
        request = auth.RegisterTelegramUser(
            telegram_user_id=telegram_user_id, full_name=full_name, telegram_username=username
        )
        return await self.call(auth.REGISTER_TELEGRAM, request, identity=None)

    async def join(
        self, token: str, telegram_user_id: int, full_name: str, username: str | None
    ) -> auth.TelegramIdentity:
        """Join the organization of an invitation (its token, without ``join_``)."""
        request = auth.JoinWithTelegram(
            token=token,
            telegram_user_id=telegram_user_id,
            full_name=full_name,
            telegram_username=username,
        )
        return await self.call(auth.JOIN_WITH_TELEGRAM, request, identity=None)

    def as_user(self, identity: Identity, correlation_id: str | None = None) -> "UserApi":
        return UserApi(self, identity, correlation_id)


class UserApi:
    """The requests a linked user makes, each sent with that user's identity."""

    def __init__(self, rivet: Rivet, identity: Identity, correlation_id: str | None) -> None:
        self.rivet = rivet
        self.identity = identity
        self.correlation_id = correlation_id

    async def _call(
        self, spec: RpcSpec[RequestT, ReplyT], request: RequestT, idempotency_key: str | None = None
    ) -> ReplyT:
        return await self.rivet.call(
            spec,
            request,
            identity=self.identity,
            correlation_id=self.correlation_id,
            idempotency_key=idempotency_key,
        )

    # --- account ----------------------------------------------------------------------------

    async def me(self) -> auth.UserView:
        return await self._call(auth.ME, auth.GetMe())

    async def invite(self, role: Role) -> auth.InvitationView:
        """An invitation without an address, joined in Telegram with its link."""
        return await self._call(auth.INVITE, auth.InviteUser(role=role))

    async def start_email_verification(self, email: str) -> auth.EmailVerificationStarted:
        request = auth.StartEmailVerification.model_validate({"email": email})
        return await self._call(auth.START_EMAIL_VERIFICATION, request)

    async def confirm_email(self, code: str) -> auth.UserView:
        return await self._call(auth.CONFIRM_EMAIL, auth.ConfirmEmail(code=code))

    async def forgot_password(self, email: str) -> auth.PasswordResetRequested:
        return await self._call(auth.FORGOT_PASSWORD, auth.ForgotPassword(email=email))

    # --- stats ----------------------------------------------------------------------------

    async def overview(self) -> wo.Overview:
        return await self._call(wo.STATS_OVERVIEW, wo.StatsOverviewQuery())

    async def summary(self) -> wo.Summary:
        return await self._call(wo.STATS_SUMMARY, wo.SummaryQuery(limit=1))

    # --- equipment ------------------------------------------------------------------------

    async def list_equipment(self, offset: int, limit: int) -> eq.EquipmentPage:
        return await self._call(eq.LIST, eq.ListEquipment(offset=offset, limit=limit))

    async def search_equipment(self, query: str, limit: int = 8) -> eq.SearchResult:
        return await self._call(eq.SEARCH, eq.SearchEquipment(query=query, limit=limit))

    async def get_equipment(self, ref: str) -> eq.EquipmentView:
        return await self._call(eq.GET, eq.GetEquipment(ref=ref))

    # --- work orders ----------------------------------------------------------------------

    async def list_work_orders(self, request: wo.ListWorkOrders) -> wo.WorkOrderPage:
        return await self._call(wo.LIST, request)

    async def get_work_order(self, ref: str) -> wo.WorkOrderView:
        return await self._call(wo.GET, wo.GetWorkOrder(ref=ref))

    async def create_work_order(self, request: wo.CreateWorkOrder) -> wo.WorkOrderView:
        return await self._call(wo.CREATE, request)

    async def update_work_order(self, ref: str, changes: wo.WorkOrderChanges) -> wo.WorkOrderView:
        return await self._call(wo.UPDATE, wo.UpdateWorkOrder(ref=ref, changes=changes))

    async def comment(self, ref: str, body: str) -> wo.TimelineEntry:
        return await self._call(wo.COMMENT, wo.CommentOnWorkOrder(ref=ref, body=body))

    async def check_item(self, request: wo.CheckChecklistItem) -> wo.ChecklistItemView:
        return await self._call(wo.CHECK_ITEM, request)

    # --- meters and planned maintenance ---------------------------------------------------

    async def meters_of(self, equipment_id: UUID) -> list[pm.MeterView]:
        """The asset's meters (an asset has a handful; one page of the most there can be)."""
        request = pm.ListMeters(equipment_id=equipment_id, limit=METERS_SHOWN)
        return (await self._call(pm.LIST_METERS, request)).items

    async def meter(self, meter_id: UUID) -> pm.MeterView:
        return await self._call(pm.GET_METER, pm.GetMeter(meter_id=meter_id))

    async def record_reading(self, request: pm.RecordReading) -> pm.ReadingResult:
        return await self._call(pm.RECORD_READING, request)

    async def pm_kpis(self, days: int = 30) -> pm.PmKpis:
        return await self._call(pm.KPIS, pm.GetPmKpis(days=days))

    # --- nameplate scans ------------------------------------------------------------------

    async def submit_scan(self, upload_key: str, location: str | None) -> ocr.ScanView:
        request = ocr.SubmitNameplate(upload_key=upload_key, location=location)
        return await self._call(ocr.SUBMIT, request)

    async def get_scan(self, scan_id: UUID) -> ocr.ScanView:
        return await self._call(ocr.GET_SCAN, ocr.GetScan(scan_id=scan_id))

    async def confirm_scan(self, request: ocr.ConfirmScan) -> ocr.ScanView:
        return await self._call(ocr.CONFIRM, request)

    # --- attachments ----------------------------------------------------------------------

    async def attach_to_order(
        self, number: str, upload_key: str, filename: str, caption: str | None, key: str
    ) -> att.AttachmentView:
        """Attach the upload ``upload_key`` to the work order; ``key`` makes a repeat (a second
        tap, a redelivered update) answer the first attachment instead of adding another."""
        request = att.AddAttachment(
            record_kind=att.RecordKind.WORK_ORDER,
            record_ref=number,
            upload_key=upload_key,
            filename=filename,
            caption=caption or None,
        )
        return await self._call(att.ADD, request, idempotency_key=key)

    async def order_attachments(self, number: str, after: UUID | None = None) -> att.AttachmentPage:
        """One page (the most there can be) of the order's attachments, oldest first."""
        request = att.ListAttachments(
            record_kind=att.RecordKind.WORK_ORDER,
            record_ref=number,
            after=after,
            limit=ATTACHMENTS_PAGE,
        )
        return await self._call(att.LIST, request)

    async def attachment_file(
        self, attachment_id: UUID, rendition: att.Rendition
    ) -> att.AttachmentFile:
        request = att.GetAttachment(attachment_id=attachment_id, rendition=rendition)
        return await self._call(att.GET, request)
