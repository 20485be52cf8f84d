"""REST: customers, their profiles, notes and addresses, their timelines, merging duplicates."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from app.actions import customers, duplicates, gdpr, profile
from app.actions.access import ticket_filter
from app.domain import queries
from app.domain.models import Customer
from app.domain.views import customer_view
from app.http.auth import ctx_of, require_agent
from app.http.errors import ApiError, path_id, read_json


async def _load(request: Request, cid: int) -> Customer:
    async with ctx_of(request).db.read() as s:
        customer = await s.get(Customer, cid)
    if customer is None:
        raise ApiError(404, "not_found", f"customer {cid} not found")
    return customer


async def search(request: Request) -> JSONResponse:
    """
    summary: Search customers by name, email, or phone in any format that includes its country code
    parameters:
      - {name: q, in: query, schema: {type: string}}
    responses:
      200: {description: "{items: [customer]}"}
    """
    await require_agent(request)
    async with ctx_of(request).db.read() as s:
        found = await queries.search_customers(s, request.query_params.get("q", ""))
        items = [customer_view(c) for c in found]
    return JSONResponse({"items": items})


async def show_profile(request: Request) -> Response:
    """
    summary: A customer's profile with every identity; a merged-away id answers 308 to the survivor
    responses:
      200: {description: customer}
      308: {description: merged into another customer}
    """
    await require_agent(request)
    customer = await _load(request, path_id(request, "customer_id"))
    if customer.merged_into_id is not None:
        return RedirectResponse(f"/api/customers/{customer.merged_into_id}", status_code=308)
    return JSONResponse(customer_view(customer))


async def update_profile(request: Request) -> JSONResponse:
    """
    summary: Change a profile (name, company, tags, attributes merged key by key with null removing one, sms_opt_out, email_unsubscribed)
    requestBody: {content: {application/json: {schema: {type: object}}}}
    responses:
      200: {description: the customer}
      400: {description: an unknown field, an undefined attribute or a value of the wrong type}
      404: {description: no such customer, or merged away}
    """
    who = await require_agent(request)
    cid = path_id(request, "customer_id")
    await profile.update(ctx_of(request), who.id, cid, await read_json(request))
    return JSONResponse(customer_view(await _load(request, cid)))


async def list_notes(request: Request) -> JSONResponse:
    """
    summary: Notes agents wrote about the customer, newest first
    responses:
      200: {description: "{items: [{id, at, agent_id, text}]}"}
    """
    await require_agent(request)
    cid = path_id(request, "customer_id")
    await _load(request, cid)
    return JSONResponse({"items": await profile.notes(ctx_of(request), cid)})


async def add_note(request: Request) -> JSONResponse:
    """
    summary: Write a note about the customer (on the timeline; never sent)
    requestBody: {content: {application/json: {schema: {type: object, required: [text], properties: {text: {type: string}}}}}}
    responses:
      201: {description: "{id, at, agent_id, text}"}
    """
    who = await require_agent(request)
    body = await read_json(request)
    note = await profile.add_note(ctx_of(request), who.id, path_id(request, "customer_id"), body.get("text"))
    return JSONResponse(note, status_code=201)


async def add_identity(request: Request) -> JSONResponse:
    """
    summary: Add an email or a phone (written any way; stored in E.164) to the customer
    requestBody: {content: {application/json: {schema: {type: object, required: [kind, address], properties: {kind: {enum: [email, phone]}, address: {type: string}}}}}}
    responses:
      201: {description: the customer}
      409: {description: "another customer holds the address (identity_taken): a duplicate to merge"}
    """
    who = await require_agent(request)
    cid = path_id(request, "customer_id")
    body = await read_json(request)
    await profile.add_identity(ctx_of(request), who.id, cid, body.get("kind"), body.get("address"))
    return JSONResponse(customer_view(await _load(request, cid)), status_code=201)


async def remove_identity(request: Request) -> JSONResponse:
    """
    summary: Remove an email or a phone from the customer
    responses:
      200: {description: the customer}
    """
    who = await require_agent(request)
    cid = path_id(request, "customer_id")
    iid = path_id(request, "identity_id")
    await profile.remove_identity(ctx_of(request), who.id, cid, iid)
    return JSONResponse(customer_view(await _load(request, cid)))


async def history(request: Request) -> Response:
    """
    summary: Every interaction on every channel and ticket, oldest first
    responses:
      200: {description: "{items: [{at, kind, channel, direction, author, text, ticket_id}]}"}
    """
    who = await require_agent(request)
    customer = await _load(request, path_id(request, "customer_id"))
    if customer.merged_into_id is not None:
        return RedirectResponse(f"/api/customers/{customer.merged_into_id}/history", status_code=308)
    async with ctx_of(request).db.read() as s:
        # the lines of tickets this agent may not see stay out, as the tickets themselves do
        items = await queries.customer_history(s, customer.id, ticket_filter(who))
    return JSONResponse({"items": items})


async def merge(request: Request) -> JSONResponse:
    """
    summary: Fold another customer into this one (undo with POST /api/merges/{merge_id}/undo)
    requestBody: {content: {application/json: {schema: {type: object, properties: {other_id: {type: integer}}}}}}
    responses:
      200: {description: "the surviving customer, with merge_id"}
    """
    who = await require_agent(request)
    cid = path_id(request, "customer_id")
    body = await read_json(request)
    other = body.get("other_id")
    if isinstance(other, bool) or not isinstance(other, int):
        raise ApiError(400, "invalid", "other_id must be a customer id")
    ctx = ctx_of(request)
    merge_id = await customers.merge(ctx, cid, other, who.id)
    await duplicates.check_customers(ctx, [cid])  # the survivor's other duplicates, with what it gained
    return JSONResponse({**customer_view(await _load(request, cid)), "merge_id": merge_id})


async def export_customer(request: Request) -> JSONResponse:
    """
    summary: Everything held about a customer (and those merged into them), as one JSON document (admins)
    responses:
      200: {description: "{exported_at, customer, customers, tickets (with messages), timeline, calls, chat_sessions}"}
      403: {description: not an admin}
    """
    await require_agent(request, role="admin")
    cid = path_id(request, "customer_id")
    document = await gdpr.export(ctx_of(request), cid)
    headers = {"Content-Disposition": f'attachment; filename="customer-{cid}.json"'}
    return JSONResponse(document, headers=headers)


async def erase_customer(request: Request) -> JSONResponse:
    """
    summary: Erase a customer's personal data (and that of those merged into them); needs {"confirm":true}
    requestBody: {content: {application/json: {schema: {type: object, required: [confirm], properties: {confirm: {type: boolean}}}}}}
    responses:
      200: {description: "{erased: {customers, tickets, messages, attachments, ...}}"}
      403: {description: not an admin}
    """
    await require_agent(request, role="admin")
    cid = path_id(request, "customer_id")
    if (await read_json(request)).get("confirm") is not True:
        raise ApiError(400, "confirm", 'erasing cannot be undone: send {"confirm": true}')
    return JSONResponse({"erased": await gdpr.erase(ctx_of(request), cid)})


routes = [
    Route("/api/customers", search, methods=["GET"]),
    Route("/api/customers/{customer_id}", show_profile, methods=["GET"]),
    Route("/api/customers/{customer_id}", update_profile, methods=["PATCH"]),
    Route("/api/customers/{customer_id}/notes", list_notes, methods=["GET"]),
    Route("/api/customers/{customer_id}/notes", add_note, methods=["POST"]),
    Route("/api/customers/{customer_id}/identities", add_identity, methods=["POST"]),
    Route("/api/customers/{customer_id}/identities/{identity_id}", remove_identity, methods=["DELETE"]),
    Route("/api/customers/{customer_id}/history", history, methods=["GET"]),
    Route("/api/customers/{customer_id}/merge", merge, methods=["POST"]),
    Route("/api/customers/{customer_id}/export", export_customer, methods=["GET"]),
    Route("/api/customers/{customer_id}/erase", erase_customer, methods=["POST"]),
]
