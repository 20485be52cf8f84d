"""REST: tickets and their messages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.actions import ticket_merge, tickets
from app.actions.access import check_ticket, ticket_filter
from app.actions.common import queue_name
from app.domain import queries
from app.domain.models import Agent, Ticket
from app.domain.views import message_view, ticket_view
from app.http.auth import ctx_of, require_agent
from app.http.errors import ApiError, int_param, path_id, read_json


async def list_tickets(request: Request) -> JSONResponse:
    """
    summary: Tickets the caller may see, newest first
    parameters:
      - {name: status, in: query, schema: {type: string}, description: "new, open, pending, resolved, closed (comma-separated)"}
      - {name: queue, in: query, schema: {type: string}}
      - {name: assignee, in: query, schema: {type: integer}}
      - {name: customer, in: query, schema: {type: integer}}
      - {name: waiting, in: query, schema: {type: boolean}, description: only tickets waiting for an agent}
    responses:
      200: {description: "{items: [ticket]}"}
    """
    who = await require_agent(request)
    p = request.query_params
    try:
        limit = int(p.get("limit", "100"))
    except ValueError:
        raise ApiError(400, "invalid", "limit must be a whole number") from None
    async with ctx_of(request).db.read() as s:
        try:
            items = await queries.list_tickets(
                s,
                ticket_filter(who),
                status=p.get("status") or None,
                queue=p.get("queue") or None,
                assignee=int_param(p.get("assignee"), "assignee"),
                customer=int_param(p.get("customer"), "customer"),
                waiting=p.get("waiting", "").lower() in ("1", "true", "yes"),
                limit=max(1, limit),
            )
        except queries.BadFilter as e:
            raise ApiError(400, "invalid_filter", str(e)) from e
    return JSONResponse({"items": items})


async def get_ticket(request: Request) -> JSONResponse:
    """
    summary: One ticket with its messages, oldest first
    responses:
      200: {description: ticket with messages}
      404: {description: unknown ticket}
    """
    who = await require_agent(request)
    tid = path_id(request, "ticket_id")
    async with ctx_of(request).db.read() as s:
        ticket = check_ticket(who, await s.get(Ticket, tid), tid)
        view = ticket_view(ticket, await queue_name(s, ticket.queue_id))
        view["messages"] = await queries.ticket_messages(s, tid)
        if ticket_merge.MERGED_TAG in view["tags"]:
            view["merged_into"] = await ticket_merge.merged_into(s, tid)
    return JSONResponse(view)


async def patch_ticket(request: Request) -> JSONResponse:
    """
    summary: Change status, priority, assignee_id, queue or tags
    requestBody: {content: {application/json: {schema: {type: object}}}}
    responses:
      200: {description: the ticket}
      400: {description: invalid change}
    """
    who = await require_agent(request)
    tid = path_id(request, "ticket_id")
    body = await read_json(request)
    ctx = ctx_of(request)
    async with ctx.db.read() as s:
        check_ticket(who, await s.get(Ticket, tid), tid)
        agent = await s.get(Agent, who.id)
    assert agent is not None
    return JSONResponse(await tickets.update_ticket(ctx, agent, tid, body))


async def post_message(request: Request) -> JSONResponse:
    """
    summary: An agent's reply through the ticket's channel, or an internal note
    requestBody: {content: {application/json: {schema: {type: object, properties: {body: {type: string}, internal: {type: boolean}}}}}}
    responses:
      201: {description: the message (chat, or a note)}
      202: {description: the message, its delivery queued}
    """
    who = await require_agent(request)
    tid = path_id(request, "ticket_id")
    body = await read_json(request)
    text, internal = body.get("body"), body.get("internal", False)
    if not isinstance(text, str):
        raise ApiError(400, "invalid", "body must be a string")
    if not isinstance(internal, bool):
        raise ApiError(400, "invalid", "internal must be true or false")
    ctx = ctx_of(request)
    async with ctx.db.read() as s:
        check_ticket(who, await s.get(Ticket, tid), tid)
        agent = await s.get(Agent, who.id)
    assert agent is not None
    msg = await tickets.agent_reply(ctx, agent, tid, text, internal)
    return JSONResponse(message_view(msg), status_code=202 if msg.status == "queued" else 201)


async def merge_tickets(request: Request) -> JSONResponse:
    """
    summary: Merge another ticket of the same customer into this one (its messages join this thread; it is closed, tagged merged)
    requestBody: {content: {application/json: {schema: {type: object, required: [other_id], properties: {other_id: {type: integer}}}}}}
    responses:
      200: {description: this ticket}
      400: {description: another customer's ticket, the same ticket, or merged already}
    """
    who = await require_agent(request)
    tid = path_id(request, "ticket_id")
    body = await read_json(request)
    ctx = ctx_of(request)
    async with ctx.db.read() as s:
        check_ticket(who, await s.get(Ticket, tid), tid)
        other = body.get("other_id")
        if isinstance(other, bool) or not isinstance(other, int):
            raise ApiError(400, "invalid", "other_id must be a ticket id")
        check_ticket(who, await s.get(Ticket, other), other)
    return JSONResponse(await ticket_merge.merge(ctx, who.id, tid, other))


async def split_ticket(request: Request) -> JSONResponse:
    """
    summary: Split a customer's message off into a new ticket (same customer, channel and queue; waiting for a person)
    requestBody: {content: {application/json: {schema: {type: object, required: [message_id], properties: {message_id: {type: integer}}}}}}
    responses:
      201: {description: the new ticket}
    """
    who = await require_agent(request)
    tid = path_id(request, "ticket_id")
    body = await read_json(request)
    ctx = ctx_of(request)
    async with ctx.db.read() as s:
        check_ticket(who, await s.get(Ticket, tid), tid)
    return JSONResponse(await ticket_merge.split(ctx, who.id, tid, body.get("message_id")), status_code=201)


routes = [
    Route("/api/tickets", list_tickets, methods=["GET"]),
    Route("/api/tickets/{ticket_id}", get_ticket, methods=["GET"]),
    Route("/api/tickets/{ticket_id}", patch_ticket, methods=["PATCH"]),
    Route("/api/tickets/{ticket_id}/messages", post_message, methods=["POST"]),
    Route("/api/tickets/{ticket_id}/merge", merge_tickets, methods=["POST"]),
    Route("/api/tickets/{ticket_id}/split", split_ticket, methods=["POST"]),
]
