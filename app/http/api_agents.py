"""REST: the caller, the team, canned responses and the supervisor board's figures."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.actions import agents, audit, canned, passwords, totp
from app.domain import queries
from app.domain.models import Agent
from app.domain.views import agent_view
from app.http.auth import ctx_of, require_agent
from app.http.errors import ApiError, int_param, path_id, read_json


async def me(request: Request) -> JSONResponse:
    """
    summary: The calling agent
    responses:
      200: {description: "{id, name, email, role, capacity, presence, queues}"}
    """
    who = await require_agent(request)
    async with ctx_of(request).db.read() as s:
        agent = await s.get(Agent, who.id)
        assert agent is not None
        return JSONResponse({**agent_view(agent), "two_step": bool(agent.totp_secret)})


async def change_password(request: Request) -> JSONResponse:
    """
    summary: Change the caller's password; every other token of theirs is void and its sockets close
    requestBody: {content: {application/json: {schema: {type: object, required: [current_password, new_password], properties: {current_password: {type: string}, new_password: {type: string}}}}}}
    responses:
      200: {description: "{token}: the caller's new token"}
      400: {description: the new password is too short or too long}
      403: {description: the current password is wrong}
    """
    who = await require_agent(request)
    body = await read_json(request)
    current, new = body.get("current_password"), body.get("new_password")
    if not isinstance(current, str) or not isinstance(new, str) or len(current) > passwords.MAX_PASSWORD:
        raise ApiError(400, "invalid", "current_password and new_password are required strings")
    token = await passwords.change_password(ctx_of(request), who.id, current, new)
    return JSONResponse({"token": token})


async def totp_begin(request: Request) -> JSONResponse:
    """
    summary: Start turning on two-step sign-in; answers the secret (and its otpauth URI) to scan
    responses:
      200: {description: "{secret, uri}"}
    """
    who = await require_agent(request)
    return JSONResponse(await totp.begin(ctx_of(request), who.id))


async def totp_confirm(request: Request) -> Response:
    """
    summary: Turn on two-step sign-in with a code from the secret just scanned
    requestBody: {content: {application/json: {schema: {type: object, required: [code], properties: {code: {type: string}}}}}}
    responses:
      204: {description: on; every login now asks for a code}
      403: {description: the code does not match}
    """
    who = await require_agent(request)
    await totp.confirm(ctx_of(request), who.id, _code(await read_json(request)))
    return Response(status_code=204)


async def totp_disable(request: Request) -> Response:
    """
    summary: Turn off two-step sign-in, with a current code
    requestBody: {content: {application/json: {schema: {type: object, required: [code], properties: {code: {type: string}}}}}}
    responses:
      204: {description: off}
      403: {description: the code does not match}
    """
    who = await require_agent(request)
    await totp.disable(ctx_of(request), who.id, _code(await read_json(request)))
    return Response(status_code=204)


def _code(body: dict[str, Any]) -> str:
    code = body.get("code")
    if not isinstance(code, str) or len(code) > 16:
        raise ApiError(400, "invalid", "code must be the 6 digits of your authenticator app")
    return code


async def list_agents(request: Request) -> JSONResponse:
    """
    summary: Every active agent with presence, state (available, busy, away), queues and open tickets
    responses:
      200: {description: "{items: [agent]}"}
    """
    await require_agent(request)
    async with ctx_of(request).db.read() as s:
        return JSONResponse({"items": await queries.list_agents(s)})


async def patch_agent(request: Request) -> JSONResponse:
    """
    summary: Change an agent's queues or capacity (supervisors and admins), password or active flag (admins)
    description: A new password or `active` false voids every token of the agent and closes its sockets.
    requestBody: {content: {application/json: {schema: {type: object, properties: {queues: {type: array, items: {type: string}}, capacity: {type: integer}, password: {type: string}, active: {type: boolean}}}}}}
    responses:
      200: {description: the agent}
      403: {description: not a supervisor, or not an admin for password and active}
    """
    who = await require_agent(request, role="supervisor")
    agent_id = path_id(request, "agent_id", "agent id")
    body = await read_json(request)
    unknown = set(body) - {"queues", "capacity", "password", "active", "totp"}
    if unknown:
        raise ApiError(400, "unknown_field", f"unknown fields: {', '.join(sorted(unknown))}")
    queues, capacity = body.get("queues"), body.get("capacity")
    password, active = body.get("password"), body.get("active")
    if queues is not None and (not isinstance(queues, list) or not all(isinstance(q, str) for q in queues)):
        raise ApiError(400, "invalid", "queues must be a list of queue names")
    if capacity is not None and (isinstance(capacity, bool) or not isinstance(capacity, int)):
        raise ApiError(400, "invalid", "capacity must be a whole number")
    if password is not None and not isinstance(password, str):
        raise ApiError(400, "invalid", "password must be a string")
    if active is not None and not isinstance(active, bool):
        raise ApiError(400, "invalid", "active must be true or false")
    two_step = body.get("totp")
    if two_step is not None and two_step is not False:
        raise ApiError(
            400, "invalid", "totp can only be turned off (false) here; agents turn it on themselves"
        )
    if (password is not None or active is not None or two_step is not None) and who.role != "admin":
        raise ApiError(
            403, "forbidden", "only admins set passwords, switch agents off or reset two-step sign-in"
        )
    if active is False and agent_id == who.id:
        raise ApiError(400, "invalid", "admins cannot switch themselves off")
    ctx = ctx_of(request)
    if password is not None:
        await passwords.set_password(ctx, agent_id, password)
    if active is not None:
        await passwords.set_active(ctx, agent_id, active)
    if two_step is False:
        await totp.disable(ctx, agent_id, None)
    if queues is not None or capacity is not None or not body:
        await agents.update_agent(ctx, agent_id, queues=queues, capacity=capacity)
    async with ctx.db.read() as s:
        agent = await s.get(Agent, agent_id)
        if agent is None:
            raise ApiError(404, "not_found", f"agent {agent_id} not found")
        found = [a for a in await queries.list_agents(s) if a["id"] == agent_id]
        return JSONResponse(found[0] if found else {**agent_view(agent), "active": agent.active})


async def stats(request: Request) -> JSONResponse:
    """
    summary: The supervisor board's charts (waiting over the last hours, first responses and volume today)
    parameters:
      - {name: hours, in: query, schema: {type: integer, minimum: 1, maximum: 48}}
    responses:
      200: {description: "{waiting_series, first_response_today, volume_by_channel_today, handled_today}"}
    """
    await require_agent(request, role="supervisor")
    hours = int_param(request.query_params.get("hours"), "hours") or 8
    if hours > 48:
        raise ApiError(400, "invalid", "hours must be 1 to 48")
    async with ctx_of(request).db.read() as s:
        return JSONResponse(await queries.board_stats(s, hours))


async def list_canned(request: Request) -> JSONResponse:
    """
    summary: Canned responses (saved replies with placeholders such as {{customer.first_name}})
    responses:
      200: {description: "{items: [{id, title, body, shortcut}]}"}
    """
    await require_agent(request)
    return JSONResponse({"items": await canned.list_all(ctx_of(request))})


async def create_canned(request: Request) -> JSONResponse:
    """
    summary: Save a canned response (supervisors and admins)
    requestBody: {content: {application/json: {schema: {type: object, properties: {title: {type: string}, body: {type: string}, shortcut: {type: string}}}}}}
    responses:
      201: {description: the canned response}
    """
    who = await require_agent(request, role="supervisor")
    body = await read_json(request)
    return JSONResponse(await canned.create(ctx_of(request), body, who.id), status_code=201)


async def update_canned(request: Request) -> JSONResponse:
    """
    summary: Change a canned response (supervisors and admins)
    responses:
      200: {description: the canned response}
    """
    await require_agent(request, role="supervisor")
    canned_id = path_id(request, "canned_id", "canned response id")
    return JSONResponse(await canned.update(ctx_of(request), canned_id, await read_json(request)))


async def delete_canned(request: Request) -> Response:
    """
    summary: Delete a canned response (supervisors and admins)
    responses:
      204: {description: deleted}
    """
    await require_agent(request, role="supervisor")
    await canned.delete(ctx_of(request), path_id(request, "canned_id", "canned response id"))
    return Response(status_code=204)


async def list_audit(request: Request) -> JSONResponse:
    """
    summary: The audit log, newest first (admins)
    parameters:
      - {name: agent_id, in: query, schema: {type: integer}}
      - {name: action, in: query, schema: {type: string}}
      - {name: before, in: query, schema: {type: integer}}
      - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 500}}
    responses:
      200: {description: "{items: [{id, at, agent_id, agent_email, action, method, path, status, client, detail}]}"}
      403: {description: not an admin}
    """
    await require_agent(request, role="admin")
    q = request.query_params
    limit = int_param(q.get("limit"), "limit") or 100
    if not 1 <= limit <= audit.MAX_LIMIT:
        raise ApiError(400, "invalid", f"limit must be 1 to {audit.MAX_LIMIT}")
    items = await audit.entries(
        ctx_of(request),
        agent_id=int_param(q.get("agent_id"), "agent_id"),
        action=q.get("action") or None,
        before=int_param(q.get("before"), "before"),
        limit=limit,
    )
    return JSONResponse({"items": items})


routes = [
    Route("/api/audit", list_audit, methods=["GET"]),
    Route("/api/me", me, methods=["GET"]),
    Route("/api/me/password", change_password, methods=["POST"]),
    Route("/api/me/totp", totp_begin, methods=["POST"]),
    Route("/api/me/totp/confirm", totp_confirm, methods=["POST"]),
    Route("/api/me/totp/disable", totp_disable, methods=["POST"]),
    Route("/api/agents", list_agents, methods=["GET"]),
    Route("/api/agents/{agent_id}", patch_agent, methods=["PATCH"]),
    Route("/api/stats", stats, methods=["GET"]),
    Route("/api/canned", list_canned, methods=["GET"]),
    Route("/api/canned", create_canned, methods=["POST"]),
    Route("/api/canned/{canned_id}", update_canned, methods=["PATCH"]),
    Route("/api/canned/{canned_id}", delete_canned, methods=["DELETE"]),
]
