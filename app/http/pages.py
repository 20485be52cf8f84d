"""The browser pages (agent console, supervisor board, knowledge base, admin settings, demo page), the
widget script and static assets.

The console pages are sent with a strict Content-Security-Policy: scripts and styles only from this
server, no inline code, nothing framed; customer text can at worst be text.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parents[2] / "agent_ui" / "static"

CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
HARDENING = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def page(path: str, name: str, csp: str | None = CONSOLE_CSP) -> Route:
    async def serve(_request: Request) -> Response:
        headers = {**HARDENING, "Content-Security-Policy": csp} if csp else dict(HARDENING)
        return FileResponse(STATIC / name, media_type="text/html; charset=utf-8", headers=headers)

    return Route(path, serve, methods=["GET"], include_in_schema=False)


async def widget_js(_request: Request) -> Response:
    # embedded by other sites: any origin may load it; it talks only to this server
    return FileResponse(
        STATIC / "widget.js",
        media_type="text/javascript; charset=utf-8",
        headers={**HARDENING, "Access-Control-Allow-Origin": "*"},
    )


class Static(StaticFiles):
    async def get_response(self, path: str, scope: dict) -> Response:  # type: ignore[type-arg, override]
        response = await super().get_response(path, scope)
        response.headers.update(HARDENING)
        return response


routes = [
    page("/console", "console.html"),
    page("/console/supervisor", "supervisor.html"),
    page("/console/faq", "faq.html"),
    page("/admin", "admin.html"),
    # the demo stands for a customer's own site, which may well have no CSP: the widget must be safe there by
    # itself (the browser tests prove it on this page, where an injected handler would run)
    page("/demo", "demo.html", csp=None),
    Route("/widget.js", widget_js, methods=["GET"], include_in_schema=False),
    Mount("/static", app=Static(directory=STATIC), name="static"),
]
