"""REST: login, queues, the bot, health, metrics, the OpenAPI document, and the static pages."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.schemas import SchemaGenerator

from app.actions import agents
from app.actions.login_throttle import Throttled
from app.domain import queries
from app.domain.views import agent_view
from app.http.auth import bearer, ctx_of, require_agent
from app.http.errors import ApiError, read_json
from app.http.ratelimit import Window

schemas = SchemaGenerator(
    {
        "openapi": "3.0.3",
        "info": {"title": "Switchboard", "version": "0.1.0"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    }
)


async def token(request: Request) -> JSONResponse:
    """
    summary: Log in with email and password; answers a bearer token
    security: []
    requestBody: {content: {application/json: {schema: {type: object, properties: {email: {type: string}, password: {type: string}, code: {type: string}}}}}}
    responses:
      200: {description: "{token, agent: {id, name, email, role}}"}
      401: {description: "wrong email, password or code (bad_credentials); or a code is needed (totp_required)"}
      429: {description: "too many failed logins for this address or from this client (Retry-After)"}
    """
    body = await read_json(request)
    email, password, code = body.get("email"), body.get("password"), body.get("code")
    if not isinstance(email, str) or not isinstance(password, str) or len(password) > 1024:
        raise ApiError(400, "invalid", "email and password are required strings")
    if code is not None and (not isinstance(code, str) or len(code) > 16):
        raise ApiError(400, "invalid", "code must be the 6 digits of your authenticator app")
    request.state.audit_detail = {"email": email.strip().lower()[:320]}
    client = request.client.host if request.client else ""
    failures: Window = request.app.state.login_failures
    wait = failures.retry_after(client)
    if wait > 0:
        raise Throttled(wait)
    result = await agents.login(ctx_of(request), email, password, code or None)
    if result is None:
        failures.hit(client)
        raise ApiError(401, "bad_credentials", "wrong email or password")
    tok, agent = result
    request.state.principal = agent
    return JSONResponse({"token": tok, "agent": agent_view(agent)})


async def logout(request: Request) -> Response:
    """
    summary: Revoke the caller's token
    responses:
      204: {description: revoked}
    """
    await require_agent(request)
    await agents.logout(ctx_of(request), bearer(request))
    return Response(status_code=204)


async def queues(request: Request) -> JSONResponse:
    """
    summary: Per queue, waiting tickets, longest wait and available agents
    responses:
      200: {description: "{items: [{name, waiting, longest_wait_s, agents_available}]}"}
    """
    await require_agent(request)
    async with ctx_of(request).db.read() as s:
        items = await queries.queue_stats(s, request.app.state.board)
    return JSONResponse({"items": items})


async def bot_ask(request: Request) -> JSONResponse:
    """
    summary: What the FAQ bot would answer, and whether it would hand off
    requestBody: {content: {application/json: {schema: {type: object, properties: {text: {type: string}}}}}}
    responses:
      200: {description: "{entry_id, answer, confidence, handoff}"}
    """
    await require_agent(request)
    body = await read_json(request)
    text = body.get("text")
    if not isinstance(text, str):
        raise ApiError(400, "invalid", "text must be a string")
    if len(text.encode()) > 64 * 1024:
        raise ApiError(413, "too_large", "text over 64 KiB")
    match = await request.app.state.bot.ask(text)
    return JSONResponse(
        {
            "entry_id": match.entry_id,
            "answer": match.answer,
            "confidence": round(float(match.confidence), 4),
            "handoff": match.handoff,
            "reason": match.reason,
        }
    )


async def healthz(request: Request) -> JSONResponse:
    """
    summary: 200 when the database answers
    security: []
    responses:
      200: {description: ok}
      503: {description: the database does not answer}
    """
    if await ctx_of(request).db.ping():
        return JSONResponse({"status": "ok"})
    return JSONResponse(
        {"status": "unavailable", "error": {"code": "db", "message": "database down"}}, status_code=503
    )


async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


async def openapi(request: Request) -> Response:
    return JSONResponse(schemas.get_schema(routes=request.app.routes))


routes = [
    Route("/api/auth/token", token, methods=["POST"]),
    Route("/api/auth/logout", logout, methods=["POST"]),
    Route("/api/queues", queues, methods=["GET"]),
    Route("/api/bot/ask", bot_ask, methods=["POST"]),
    Route("/healthz", healthz, methods=["GET"], include_in_schema=True),
    Route("/metrics", metrics, methods=["GET"], include_in_schema=False),
    Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
]
