"""Bearer-token authentication for the REST API."""

from __future__ import annotations

from starlette.requests import Request

from app.actions import agents
from app.actions.agents import Principal
from app.actions.context import Context
from app.http.errors import ApiError


def ctx_of(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "send Authorization: Bearer TOKEN (POST /api/auth/token)")
    return token.strip()


async def require_agent(request: Request, role: str | None = None) -> Principal:
    who = await agents.authenticate(ctx_of(request), bearer(request))
    if who is None:
        raise ApiError(401, "unauthorized", "the token is unknown, expired or revoked")
    request.state.principal = who  # for the audit log (app.http.audit)
    if role == "supervisor" and not who.is_supervisor:
        raise ApiError(403, "forbidden", "supervisors and admins only")
    if role == "admin" and who.role != "admin":
        raise ApiError(403, "forbidden", "admins only")
    return who
