"""REST: reminders scheduled to customers (a renewal, a payment due) by email or SMS, and cancelling them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.actions import reminders
from app.http.auth import ctx_of, require_agent
from app.http.errors import path_id, read_json


async def schedule(request: Request) -> JSONResponse:
    """
    summary: Schedule a reminder to the customer (refused when they opted out of the channel or have no address on it)
    requestBody:
      content:
        application/json:
          schema: {type: object, required: [channel, body, due_at], properties: {kind: {enum: [renewal, payment, other]}, channel: {enum: [email, sms]}, body: {type: string}, subject: {type: string}, due_at: {type: string, format: date-time}, ticket_id: {type: integer}}}
    responses:
      201: {description: "the reminder {id, customer_id, ticket_id, kind, channel, subject, body, due_at, status, outcome, agent_id, rule_id, sent_ticket_id, created_at, done_at}"}
      400: {description: a field is missing or wrong}
      409: {description: "opted_out, no_address"}
    """
    who = await require_agent(request)
    customer_id = path_id(request, "customer_id")
    body = await read_json(request)
    return JSONResponse(await reminders.schedule(ctx_of(request), customer_id, body, who.id), status_code=201)


async def of_customer(request: Request) -> JSONResponse:
    """
    summary: The customer's reminders, the latest due first
    responses:
      200: {description: "{items: [reminder]}"}
    """
    await require_agent(request)
    return JSONResponse(
        {"items": await reminders.for_customer(ctx_of(request), path_id(request, "customer_id"))}
    )


async def listing(request: Request) -> JSONResponse:
    """
    summary: Every customer's reminders, the soonest due first (supervisors and admins)
    parameters:
      - {name: status, in: query, schema: {enum: [scheduled, sent, skipped, cancelled]}}
    responses:
      200: {description: "{items: [reminder]}"}
    """
    await require_agent(request, role="supervisor")
    status = request.query_params.get("status")
    return JSONResponse({"items": await reminders.listing(ctx_of(request), status)})


async def cancel(request: Request) -> JSONResponse:
    """
    summary: Cancel a scheduled reminder
    responses:
      200: {description: the reminder, cancelled}
      409: {description: "not_scheduled: sent, skipped or cancelled already"}
    """
    who = await require_agent(request)
    return JSONResponse(await reminders.cancel(ctx_of(request), path_id(request, "reminder_id"), who.id))


routes = [
    Route("/api/customers/{customer_id}/reminders", of_customer, methods=["GET"]),
    Route("/api/customers/{customer_id}/reminders", schedule, methods=["POST"]),
    Route("/api/reminders", listing, methods=["GET"]),
    Route("/api/reminders/{reminder_id}", cancel, methods=["DELETE"]),
]
