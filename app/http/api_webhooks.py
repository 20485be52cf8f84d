"""REST: outgoing webhooks (admins): register, change, remove, see their deliveries, try one again, ping."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.actions import webhooks
from app.http.auth import ctx_of, require_agent
from app.http.errors import path_id, read_json
from app.webhook_sender import WebhookSender


def _sender(request: Request) -> WebhookSender:
    sender: WebhookSender = request.app.state.webhook_sender
    return sender


async def list_webhooks(request: Request) -> JSONResponse:
    """
    summary: The webhooks, with their secrets (admins)
    responses:
      200: {description: "{items: [{id, url, secret, events, description, active, created_at}]}"}
    """
    await require_agent(request, role="admin")
    return JSONResponse({"items": await webhooks.listing(ctx_of(request))})


async def create_webhook(request: Request) -> JSONResponse:
    """
    summary: Register a webhook (admins); its secret signs every delivery
    requestBody: {content: {application/json: {schema: {type: object, required: [url], properties: {url: {type: string}, events: {type: array, items: {type: string}}, description: {type: string}, active: {type: boolean}}}}}}
    responses:
      201: {description: "{id, url, secret, events, description, active, created_at}"}
    """
    await require_agent(request, role="admin")
    hook = await webhooks.create(ctx_of(request), await read_json(request))
    _sender(request).changed()
    return JSONResponse(hook, status_code=201)


async def update_webhook(request: Request) -> JSONResponse:
    """
    summary: Change a webhook's url, events, description or active flag (admins)
    responses:
      200: {description: the webhook}
    """
    await require_agent(request, role="admin")
    hook = await webhooks.change(ctx_of(request), path_id(request, "webhook_id"), await read_json(request))
    _sender(request).changed()
    return JSONResponse(hook)


async def delete_webhook(request: Request) -> Response:
    """
    summary: Remove a webhook and its deliveries (admins)
    responses:
      204: {description: removed}
    """
    await require_agent(request, role="admin")
    await webhooks.remove(ctx_of(request), path_id(request, "webhook_id"))
    _sender(request).changed()
    return Response(status_code=204)


async def list_deliveries(request: Request) -> JSONResponse:
    """
    summary: A webhook's latest deliveries, newest first (admins)
    responses:
      200: {description: "{items: [{id, event, status, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at}]}"}
    """
    await require_agent(request, role="admin")
    return JSONResponse({"items": await webhooks.deliveries(ctx_of(request), path_id(request, "webhook_id"))})


async def redeliver(request: Request) -> JSONResponse:
    """
    summary: Try a delivery again now, from its first try (admins)
    responses:
      200: {description: the delivery}
    """
    await require_agent(request, role="admin")
    d = await webhooks.redeliver(
        ctx_of(request), path_id(request, "webhook_id"), path_id(request, "delivery_id")
    )
    _sender(request).changed()
    return JSONResponse(d)


async def ping(request: Request) -> JSONResponse:
    """
    summary: Send the webhook a ping event now (admins), to check its URL and signature
    responses:
      202: {description: "{queued: true}"}
    """
    await require_agent(request, role="admin")
    ctx = ctx_of(request)
    hook_id = path_id(request, "webhook_id")
    await webhooks.deliveries(ctx, hook_id, limit=1)  # 404 for an unknown webhook
    await webhooks.enqueue(ctx, [(hook_id, "ping")], "ping", {"webhook_id": hook_id})
    _sender(request).changed()
    return JSONResponse({"queued": True}, status_code=202)


routes = [
    Route("/api/webhooks", list_webhooks, methods=["GET"]),
    Route("/api/webhooks", create_webhook, methods=["POST"]),
    Route("/api/webhooks/{webhook_id}", update_webhook, methods=["PATCH"]),
    Route("/api/webhooks/{webhook_id}", delete_webhook, methods=["DELETE"]),
    Route("/api/webhooks/{webhook_id}/deliveries", list_deliveries, methods=["GET"]),
    Route("/api/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", redeliver, methods=["POST"]),
    Route("/api/webhooks/{webhook_id}/ping", ping, methods=["POST"]),
]
