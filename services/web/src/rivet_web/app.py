"""The web app: server-rendered pages (Jinja2, htmx) over Rivet's public API, live on events.

It holds no business data: every page is read from the gateway with the signed-in person's
token, and every action is the API's own call, so the API's roles, rules and messages apply
unchanged. Live pages follow the organization's work-order events (``live.py``).
"""

import asyncio
import json
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from rivet_contracts.workorders import Priority, WorkOrderStatus
from rivet_runtime.service import ServiceRuntime

from .api import ApiDown, ApiError, Gateway, SignedOut
from .charts import trend_chart
from .live import LIVE_EVENTS_HEARD, RETRY_MS, Change, LiveHub, card_fields
from .metrics import PAGES
from .session import (
    CSRF_FIELD,
    CSRF_HEADER,
    DEVICE_COOKIE,
    PRE_COOKIE,
    SESSION_COOKIE,
    CookieCodec,
    Session,
    same_token,
)
from .settings import WebSettings

HERE = Path(__file__).parent
STATIC = HERE / "static"
BOARD_COLUMNS = (
    WorkOrderStatus.OPEN,
    WorkOrderStatus.IN_PROGRESS,
    WorkOrderStatus.ON_HOLD,
    WorkOrderStatus.COMPLETED,
)
STATUS_LABELS = {
    "open": "Open",
    "in_progress": "In progress",
    "on_hold": "On hold",
    "completed": "Completed",
    "cancelled": "Cancelled",
}
BOARD_LIMIT = 50
LIST_LIMIT = 25
REF = re.compile(r"^[A-Za-z0-9-]{1,64}$")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)


class NeedsSignIn(Exception):
    pass


class Forbidden(Exception):
    pass


def build_runtime(settings: WebSettings | None = None) -> ServiceRuntime[LiveHub]:
    settings = settings or WebSettings()
    hub = LiveHub(settings.web_live_buffer)
    runtime: ServiceRuntime[LiveHub] = ServiceRuntime(settings, hub)
    for subject in LIVE_EVENTS_HEARD:
        runtime.listen(subject, hub.on_event)
    return runtime


def _fmt_time(value: Any) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return ""


def _fmt_number(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{float(value):,.{digits}f}"


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response


def create_app(
    runtime: ServiceRuntime[Any], transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """The ASGI app; ``transport`` (tests) reaches the gateway without a socket."""
    settings = runtime.settings
    assert isinstance(settings, WebSettings)
    hub = runtime.state
    assert isinstance(hub, LiveHub)
    secret = settings.web_session_secret
    codec = CookieCodec(secret.get_secret_value() if secret else None, settings.web_session_max_age)
    client = httpx.AsyncClient(
        base_url=settings.gateway_url, timeout=settings.gateway_timeout, transport=transport
    )
    gateway = Gateway(client)

    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with runtime.lifespan(app):
            yield
        await client.aclose()

    app = FastAPI(
        title="Rivet web",
        lifespan=asynccontextmanager(lifespan),
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters["time"] = _fmt_time
    templates.env.filters["num"] = _fmt_number
    templates.env.globals["status_labels"] = STATUS_LABELS
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(SecurityHeaders)
    for route in runtime.ops_routes():
        app.router.routes.append(route)

    # --- helpers ----------------------------------------------------------------------

    def secure(request: Request) -> bool:
        if settings.web_cookie_secure is not None:
            return settings.web_cookie_secure
        return request.url.scheme == "https"

    def client_ip(request: Request) -> str | None:
        return request.client.host if request.client else None

    def session_of(request: Request) -> Session:
        session = codec.session(request.cookies.get(SESSION_COOKIE))
        if session is None:
            raise NeedsSignIn()
        return session

    def write_session(request: Request, response: Response, session: Session) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            codec.dump(session.as_cookie()),
            max_age=settings.web_session_max_age,
            httponly=True,
            secure=secure(request),
            samesite="lax",
            path="/",
        )

    def finish(request: Request, response: Response, session: Session | None) -> Response:
        if session is not None and session.changed:
            write_session(request, response, session)
        return response

    def page(
        request: Request,
        name: str,
        context: dict[str, Any],
        session: Session | None,
        status: int = 200,
        page_name: str | None = None,
    ) -> Response:
        outcome = "ok" if status < 400 else "client_error"
        PAGES.labels(page_name or name.removesuffix(".html"), outcome).inc()
        context = {"session": session, "csrf_field": CSRF_FIELD} | context
        response = templates.TemplateResponse(request, name, context, status_code=status)
        return finish(request, response, session)

    async def check_form(request: Request, session: Session) -> dict[str, str]:
        same_origin(request)
        form = await request.form()
        given = request.headers.get(CSRF_HEADER) or str(form.get(CSRF_FIELD) or "")
        if not same_token(session.csrf, given):
            raise Forbidden()
        return {k: str(v) for k, v in form.items() if isinstance(v, str)}

    def same_origin(request: Request) -> None:
        origin = request.headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
            raise Forbidden()
        if origin == "null":
            raise Forbidden()

    async def call(
        request: Request, session: Session, method: str, path: str, **kwargs: Any
    ) -> Any:
        return await gateway.call(session, method, path, client_ip=client_ip(request), **kwargs)

    def order_path(ref: str) -> str:
        if not REF.match(ref):
            raise ApiError(404, "not_found", "No such work order.")
        return f"/api/work-orders/{quote(ref, safe='')}"

    # --- errors -----------------------------------------------------------------------

    @app.exception_handler(NeedsSignIn)
    async def needs_sign_in(request: Request, _exc: NeedsSignIn) -> Response:
        if request.url.path == "/live" or request.method != "GET":
            return Response("sign in first", status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/sign-in?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(SignedOut)
    async def signed_out(request: Request, _exc: SignedOut) -> Response:
        PAGES.labels("any", "signed_out").inc()
        response: Response = RedirectResponse("/sign-in?expired=1", status_code=303)
        if request.url.path == "/live":
            response = Response("signed out", status_code=401)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, _exc: Forbidden) -> Response:
        PAGES.labels("any", "client_error").inc()
        return templates.TemplateResponse(
            request,
            "error.html",
            {
                "session": None,
                "title": "Refused",
                "message": "This form has expired or did not come from this site. Go back, reload "
                "the page and try again.",
            },
            status_code=403,
        )

    @app.exception_handler(ApiDown)
    async def api_down(request: Request, exc: ApiDown) -> Response:
        PAGES.labels("any", "api_down").inc()
        return templates.TemplateResponse(
            request,
            "error.html",
            {
                "session": None,
                "title": "Rivet is not answering",
                "message": f"{exc} Try again in a moment.",
            },
            status_code=502,
        )

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        PAGES.labels("any", "client_error").inc()
        session = codec.session(request.cookies.get(SESSION_COOKIE))
        return templates.TemplateResponse(
            request,
            "error.html",
            {
                "session": session,
                "csrf_field": CSRF_FIELD,
                "title": "Not possible",
                "message": exc.message,
            },
            status_code=exc.status,
        )

    # --- sign-in and sign-out ---------------------------------------------------------

    def safe_next(target: str | None) -> str:
        if target and target.startswith("/") and not target.startswith(("//", "/\\")):
            return target
        return "/dashboard"

    def sign_in_page(
        request: Request, message: str | None, status: int, email: str = ""
    ) -> Response:
        token = secrets.token_urlsafe(32)
        response = page(
            request,
            "sign_in.html",
            {
                "pre_csrf": token,
                "message": message,
                "email": email,
                "next": safe_next(request.query_params.get("next")),
                "expired": request.query_params.get("expired") == "1",
            },
            None,
            status,
        )
        response.set_cookie(
            PRE_COOKIE,
            token,
            max_age=3600,
            httponly=True,
            secure=secure(request),
            samesite="lax",
            path="/sign-in",
        )
        return response

    @app.get("/", include_in_schema=False)
    async def home(request: Request) -> Response:
        signed_in = codec.session(request.cookies.get(SESSION_COOKIE)) is not None
        return RedirectResponse("/dashboard" if signed_in else "/sign-in", status_code=303)

    @app.get("/sign-in")
    async def sign_in_form(request: Request) -> Response:
        return sign_in_page(request, None, 200)

    @app.post("/sign-in")
    async def sign_in(request: Request) -> Response:
        same_origin(request)
        form = await request.form()
        fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        if not same_token(
            request.cookies.get(PRE_COOKIE) or "", fields.get(CSRF_FIELD)
        ) or not request.cookies.get(PRE_COOKIE):
            raise Forbidden()
        email, password = fields.get("email", "").strip(), fields.get("password", "")
        if not email or not password:
            return sign_in_page(request, "Enter your e-mail address and password.", 422, email)
        device = request.cookies.get(DEVICE_COOKIE)
        try:
            tokens = await gateway.login(email, password, device, client_ip(request))
        except ApiError as exc:
            message = exc.message if exc.status != 422 else "Enter a valid e-mail and password."
            return sign_in_page(request, message, exc.status, email)
        session = Session(tokens["access_token"], tokens["refresh_token"], "", "", "", "")
        me = await call(request, session, "GET", "/api/auth/me")
        session.user_id, session.org_id = str(me["id"]), str(me["org_id"])
        session.name, session.role = str(me["full_name"]), str(me["role"])
        PAGES.labels("sign_in", "ok").inc()
        response = RedirectResponse(safe_next(fields.get("next")), status_code=303)
        write_session(request, response, session)  # a new session every time (no fixation)
        response.delete_cookie(PRE_COOKIE, path="/sign-in")
        if tokens.get("device_token"):
            response.set_cookie(
                DEVICE_COOKIE,
                str(tokens["device_token"]),
                max_age=365 * 24 * 3600,
                httponly=True,
                secure=secure(request),
                samesite="lax",
                path="/sign-in",
            )
        return response

    @app.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        session = session_of(request)
        await check_form(request, session)
        await gateway.logout(session, client_ip(request))
        PAGES.labels("sign_out", "ok").inc()
        response = RedirectResponse("/sign-in", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # --- dashboard --------------------------------------------------------------------

    @app.get("/dashboard")
    async def dashboard(request: Request) -> Response:
        session = session_of(request)
        overview, kpis, trends = await asyncio.gather(
            call(request, session, "GET", "/api/stats/overview"),
            call(request, session, "GET", "/api/stats/kpis", params={"days": 30}),
            call(request, session, "GET", "/api/stats/work-order-trends", params={"days": 30}),
        )
        days = trends["items"]
        return page(
            request,
            "dashboard.html",
            {"overview": overview, "kpis": kpis, "trends": days, "chart": trend_chart(days)},
            session,
        )

    # --- work orders ------------------------------------------------------------------

    async def board_columns(request: Request, session: Session) -> list[dict[str, Any]]:
        pages = await asyncio.gather(
            *(
                call(
                    request,
                    session,
                    "GET",
                    "/api/work-orders",
                    params={
                        "status": status.value,
                        "limit": BOARD_LIMIT,
                        "sort": "due_at" if status != WorkOrderStatus.COMPLETED else "-created_at",
                    },
                )
                for status in BOARD_COLUMNS
            )
        )
        return [
            {
                "status": status.value,
                "label": STATUS_LABELS[status.value],
                "cards": [card_fields(item) for item in answer["items"]],
                "more": answer["next_offset"] is not None,
            }
            for status, answer in zip(BOARD_COLUMNS, pages, strict=True)
        ]

    @app.get("/work-orders/board")
    async def board(request: Request) -> Response:
        session = session_of(request)
        columns = await board_columns(request, session)
        return page(request, "board.html", {"columns": columns}, session)

    @app.get("/work-orders/board/columns")
    async def board_fragment(request: Request) -> Response:
        session = session_of(request)
        columns = await board_columns(request, session)
        return page(
            request, "_columns.html", {"columns": columns}, session, page_name="board_columns"
        )

    @app.get("/work-orders")
    async def order_list(request: Request) -> Response:
        session = session_of(request)
        query = request.query_params
        params: dict[str, Any] = {"limit": LIST_LIMIT, "sort": query.get("sort") or "-created_at"}
        statuses = [s for s in query.getlist("status") if s]
        if statuses:
            params["status"] = statuses
        if query.get("priority"):
            params["priority"] = query["priority"]
        if query.get("overdue") in ("true", "false"):
            params["overdue"] = query["overdue"]
        offset = query.get("offset", "0")
        params["offset"] = offset if offset.isdigit() else "0"
        filters = {
            "status": statuses,
            "priority": query.get("priority", ""),
            "overdue": query.get("overdue", ""),
            "sort": params["sort"],
        }
        try:
            answer = await call(request, session, "GET", "/api/work-orders", params=params)
        except ApiError as exc:
            return page(
                request,
                "list.html",
                {
                    "orders": [],
                    "message": exc.message,
                    "filters": filters,
                    "statuses": list(STATUS_LABELS),
                    "priorities": [p.value for p in Priority],
                    "next_offset": None,
                    "prev_offset": None,
                },
                session,
                exc.status,
            )
        current = int(params["offset"])
        pager = {k: v for k, v in params.items() if k not in ("limit", "offset")}
        return page(
            request,
            "list.html",
            {
                "orders": answer["items"],
                "message": None,
                "filters": filters,
                "statuses": list(STATUS_LABELS),
                "priorities": [p.value for p in Priority],
                "next_offset": answer["next_offset"],
                "prev_offset": max(0, current - LIST_LIMIT) if current else None,
                "pager": pager,
            },
            session,
        )

    async def order_page(
        request: Request,
        session: Session,
        ref: str,
        message: str | None = None,
        status: int = 200,
        form: dict[str, str] | None = None,
    ) -> Response:
        order = await call(request, session, "GET", order_path(ref))
        return page(
            request,
            "order.html",
            {"order": order, "message": message, "form": form or {}},
            session,
            status,
        )

    @app.get("/work-orders/{ref}")
    async def order_detail(request: Request, ref: str) -> Response:
        session = session_of(request)
        return await order_page(request, session, ref)

    @app.post("/work-orders/{ref}/status")
    async def change_status(request: Request, ref: str) -> Response:
        session = session_of(request)
        form = await check_form(request, session)
        body: dict[str, Any] = {"status": form.get("status", "")}
        if form.get("reason", "").strip():
            body["reason"] = form["reason"].strip()
        try:
            await call(request, session, "PATCH", order_path(ref), json=body)
        except ApiError as exc:
            if exc.status == 404:
                raise
            return await order_page(request, session, ref, exc.message, exc.status, form)
        PAGES.labels("status_change", "ok").inc()
        return finish(request, RedirectResponse(f"/work-orders/{ref}", status_code=303), session)

    @app.post("/work-orders/{ref}/comments")
    async def comment(request: Request, ref: str) -> Response:
        session = session_of(request)
        form = await check_form(request, session)
        try:
            await call(
                request,
                session,
                "POST",
                order_path(ref) + "/comments",
                json={"body": form.get("body", "")},
            )
        except ApiError as exc:
            if exc.status == 404:
                raise
            return await order_page(request, session, ref, exc.message, exc.status, form)
        PAGES.labels("comment", "ok").inc()
        return finish(
            request, RedirectResponse(f"/work-orders/{ref}#timeline", status_code=303), session
        )

    # --- live -------------------------------------------------------------------------

    card = templates.get_template("_card.html")

    def sse(event: str, change: Change | None) -> str:
        if change is None:
            return f"event: {event}\ndata: {{}}\n\n"
        data = json.dumps(
            {
                "type": change.type,
                "number": change.order["number"],
                "status": change.order["status"],
                "html": card.render(card=change.order),
            }
        )
        return f"id: {hub.event_id(change)}\nevent: change\ndata: {data}\n\n"

    @app.get("/live")
    async def live(request: Request) -> Response:
        session = session_of(request)
        await call(request, session, "GET", "/api/auth/me")  # the session still works
        last = request.headers.get("last-event-id") or request.query_params.get("last")

        async def stream() -> AsyncIterator[str]:
            yield f"retry: {RETRY_MS}\n\n"
            async for kind, change in hub.follow(session.org_id, last):
                if await request.is_disconnected():
                    return
                yield ": keepalive\n\n" if kind == "keepalive" else sse(kind, change)

        response = StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"X-Accel-Buffering": "no"},
        )
        return finish(request, response, session)

    return app
