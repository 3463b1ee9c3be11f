"""The interactive API docs (Swagger UI on /docs, ReDoc on /redoc), served by the gateway alone.

Their JavaScript and CSS come from the pinned ``fastapi-offline`` package (Swagger UI and ReDoc's
standalone bundle) and are served under ``/docs/static/``; Swagger UI is started by a script
file of this package (``static/swagger-init.js``), not an inline script. So the docs work
without internet access, and their Content-Security-Policy (``middleware._DOCS_CSP``) allows no
third-party origin and no inline script on the page where people type their password.
"""

from html import escape

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = "/docs/static"
STATIC_PACKAGES: list[str | tuple[str, str]] = [
    ("rivet_gateway", "static"),
    ("fastapi_offline", "static"),
]
"""Where the files of ``/docs/static/`` come from: this package's own (the start-up script),
then the Swagger UI and ReDoc distributions shipped by fastapi-offline."""

_SWAGGER_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{static}/swagger-ui.css">
<link rel="icon" href="{static}/favicon.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{static}/swagger-ui-bundle.js"></script>
<script src="{static}/swagger-init.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Add /docs, /redoc and /docs/static/ to ``app`` (made with ``docs_url=None,
    redoc_url=None`` so that FastAPI's CDN-based pages are not there)."""
    if app.docs_url is not None or app.redoc_url is not None:
        raise ValueError("FastAPI's own /docs or /redoc is on: create the app without them")
    openapi_path = app.openapi_url or "/openapi.json"
    title = app.title

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = escape(request.scope.get("root_path", ""))
        return HTMLResponse(
            _SWAGGER_PAGE.format(
                title=escape(f"{title} - Swagger UI"),
                static=root + STATIC,
                openapi_url=root + escape(openapi_path),
            )
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = escape(request.scope.get("root_path", ""))
        return get_redoc_html(
            openapi_url=root + escape(openapi_path),
            title=escape(f"{title} - ReDoc"),
            redoc_js_url=f"{root}{STATIC}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{STATIC}/favicon.png",
            with_google_fonts=False,
        )

    app.mount(STATIC, StaticFiles(packages=STATIC_PACKAGES), name="docs-static")
