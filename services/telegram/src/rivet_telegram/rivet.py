"""Requests to Rivet's services over NATS, the same ones the gateway sends.

The bot has no rights of its own: every request about a user's data carries that user's
identity headers (resolved from their Telegram id) and ``Rivet-Channel: telegram``, so each
service applies its usual role checks and organization scoping, and records ``telegram`` as the
source of what the user creates. Only the three auth requests that turn a Telegram id into an
identity are sent without one.

Failures come out as two exceptions: ``RivetUnavailable`` (nobody answered, too slow, the bus is
down, or the service failed internally: the user should simply try again) and ``RivetError``
(the service refused with a reason the user can act on).
"""

from typing import Any, TypeVar
from uuid import UUID

from nats.errors import ConnectionClosedError, NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from pydantic import BaseModel

from rivet_contracts import ErrorCode, ErrorInfo, Headers, Identity, Rpc, auth, ocr
from rivet_contracts import assets as eq
from rivet_contracts import workorders as wo
from rivet_runtime import ServiceRuntime
from rivet_runtime.rpc import identity_headers

from .settings import TelegramSettings

ReplyT = TypeVar("ReplyT", bound=BaseModel)

CHANNEL = "telegram"
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
    """Sends requests on the service runtime's NATS connection."""

    def __init__(self, settings: TelegramSettings) -> None:
        self.settings = settings
        self._runtime: ServiceRuntime[Any] | None = None

    def attach(self, runtime: ServiceRuntime[Any]) -> None:
        """Use ``runtime``'s connection (the state exists before the runtime does)."""
        self._runtime = runtime

    async def call(
        self,
        subject: str,
        request: BaseModel,
        reply: type[ReplyT],
        *,
        identity: Identity | None,
        correlation_id: str | None = None,
    ) -> ReplyT:
        runtime = self._runtime
        if runtime is None or not runtime.health.nats_connected:
            raise RivetUnavailable("the message bus is unavailable")
        headers = identity_headers(identity)
        headers[Headers.CHANNEL] = CHANNEL
        if correlation_id:
            headers[Headers.CORRELATION_ID] = correlation_id
        try:
            message = await runtime.broker.connection.request(
                self.settings.subject(subject),
                request.model_dump_json(exclude_unset=True).encode(),
                timeout=self.settings.telegram_rpc_timeout,
                headers=headers,
            )
        except NoRespondersError:
            raise RivetUnavailable(f"no {subject.split('.')[1]} service is running") from None
        except (NatsTimeout, TimeoutError):
            raise RivetUnavailable(f"{subject} timed out") from None
        except ConnectionClosedError:
            raise RivetUnavailable("the message bus is unavailable") from None
        code = (message.headers or {}).get(Headers.ERROR)
        if code is None:
            return reply.model_validate_json(message.data)
        try:
            info = ErrorInfo.model_validate_json(message.data)
        except ValueError:
            raise RivetUnavailable(f"{subject} answered {code} without details") from None
        if info.code in _RETRYABLE:
            raise RivetUnavailable(f"{subject}: {info.code.value}: {info.message}")
        raise RivetError(info)

    # --- identity (no caller yet) -------------------------------------------------------

    async def telegram_identity(self, telegram_user_id: int) -> auth.TelegramIdentity | None:
        """Who this Telegram user is in Rivet; None when the account is not linked."""
        try:
            return await self.call(
                Rpc.AUTH_TELEGRAM_IDENTITY,
                auth.GetTelegramIdentity(telegram_user_id=telegram_user_id),
                auth.TelegramIdentity,
                identity=None,
            )
        except RivetError as exc:
            if exc.code is ErrorCode.NOT_FOUND:
                return None
            raise

    async def redeem_link(
        self, code: str, telegram_user_id: int, username: str | None
    ) -> auth.TelegramIdentity:
        return await self.call(
            Rpc.AUTH_REDEEM_TELEGRAM_LINK,
            auth.RedeemTelegramLink(
                code=code, telegram_user_id=telegram_user_id, telegram_username=username
            ),
            auth.TelegramIdentity,
            identity=None,
        )

    async def register(
        self, telegram_user_id: int, full_name: str, username: str | None
    ) -> auth.TelegramIdentity:
        return await self.call(
            Rpc.AUTH_REGISTER_TELEGRAM,
            auth.RegisterTelegramUser(
                telegram_user_id=telegram_user_id, full_name=full_name, telegram_username=username
            ),
            auth.TelegramIdentity,
            identity=None,
        )

    def as_user(self, identity: Identity, correlation_id: str | None = None) -> "UserApi":
        return UserApi(self, identity, correlation_id)


class UserApi:
    """The requests a linked user makes, each sent with that user's identity."""

    def __init__(self, rivet: Rivet, identity: Identity, correlation_id: str | None) -> None:
        self.rivet = rivet
        self.identity = identity
        self.correlation_id = correlation_id

    async def _call(self, subject: str, request: BaseModel, reply: type[ReplyT]) -> ReplyT:
        return await self.rivet.call(
            subject,
            request,
            reply,
            identity=self.identity,
            correlation_id=self.correlation_id,
        )

    # --- stats ----------------------------------------------------------------------------

    async def overview(self) -> wo.Overview:
        return await self._call(Rpc.STATS_OVERVIEW, wo.StatsOverviewQuery(), wo.Overview)

    async def summary(self) -> wo.Summary:
        return await self._call(Rpc.STATS_SUMMARY, wo.SummaryQuery(limit=1), wo.Summary)

    # --- equipment ------------------------------------------------------------------------

    async def list_equipment(self, offset: int, limit: int) -> eq.EquipmentPage:
        request = eq.ListEquipment(offset=offset, limit=limit)
        return await self._call(Rpc.ASSETS_LIST, request, eq.EquipmentPage)

    async def search_equipment(self, query: str, limit: int = 8) -> eq.SearchResult:
        request = eq.SearchEquipment(query=query, limit=limit)
        return await self._call(Rpc.ASSETS_SEARCH, request, eq.SearchResult)

    async def get_equipment(self, ref: str) -> eq.EquipmentView:
        return await self._call(Rpc.ASSETS_GET, eq.GetEquipment(ref=ref), eq.EquipmentView)

    # --- work orders ----------------------------------------------------------------------

    async def list_work_orders(self, request: wo.ListWorkOrders) -> wo.WorkOrderPage:
        return await self._call(Rpc.WORKORDERS_LIST, request, wo.WorkOrderPage)

    async def get_work_order(self, ref: str) -> wo.WorkOrderView:
        return await self._call(Rpc.WORKORDERS_GET, wo.GetWorkOrder(ref=ref), wo.WorkOrderView)

    async def create_work_order(self, request: wo.CreateWorkOrder) -> wo.WorkOrderView:
        return await self._call(Rpc.WORKORDERS_CREATE, request, wo.WorkOrderView)

    async def update_work_order(self, ref: str, changes: wo.WorkOrderChanges) -> wo.WorkOrderView:
        request = wo.UpdateWorkOrder(ref=ref, changes=changes)
        return await self._call(Rpc.WORKORDERS_UPDATE, request, wo.WorkOrderView)

    async def comment(self, ref: str, body: str) -> wo.TimelineEntry:
        request = wo.CommentOnWorkOrder(ref=ref, body=body)
        return await self._call(Rpc.WORKORDERS_COMMENT, request, wo.TimelineEntry)

    # --- nameplate scans ------------------------------------------------------------------

    async def submit_scan(self, upload_key: str, location: str | None) -> ocr.ScanView:
        request = ocr.SubmitNameplate(upload_key=upload_key, location=location)
        return await self._call(Rpc.OCR_SUBMIT, request, ocr.ScanView)

    async def get_scan(self, scan_id: UUID) -> ocr.ScanView:
        return await self._call(Rpc.OCR_GET_SCAN, ocr.GetScan(scan_id=scan_id), ocr.ScanView)

    async def confirm_scan(self, request: ocr.ConfirmScan) -> ocr.ScanView:
        return await self._call(Rpc.OCR_CONFIRM, request, ocr.ScanView)
