"""REST: likely duplicate customers (with the finder's reasons), dismissing them, scanning the whole base,
and the record of merges with their undo."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.actions import customers, duplicates
from app.domain.models import Customer
from app.domain.views import customer_view
from app.http.auth import ctx_of, require_agent
from app.http.errors import ApiError, int_param, path_id

STATUSES = ("open", "dismissed", "merged")


async def of_customer(request: Request) -> JSONResponse:
    """
    summary: The customer's likely duplicates, best first, each with its reasons (dismissed pairs left out)
    responses:
      200: {description: "{items: [{customer, score, reasons: [{kind: email|phone|name, detail}]}]}"}
    """
    await require_agent(request)
    return JSONResponse(
        {"items": await duplicates.of_customer(ctx_of(request), path_id(request, "customer_id"))}
    )


async def list_pairs(request: Request) -> JSONResponse:
    """
    summary: Duplicate pairs found so far (as new addresses arrive, and by scans), best first
    parameters:
      - {name: status, in: query, schema: {enum: [open, dismissed, merged]}}
      - {name: limit, in: query, schema: {type: integer}}
    responses:
      200: {description: "{items: [{id, score, reasons, status, found_at, decided_at, a: customer, b: customer}]}"}
    """
    await require_agent(request)
    status = request.query_params.get("status", "open")
    if status not in STATUSES:
        raise ApiError(400, "invalid", f"status must be one of {', '.join(STATUSES)}")
    limit = min(max(int_param(request.query_params.get("limit"), "limit") or 50, 1), 500)
    return JSONResponse({"items": await duplicates.pairs(ctx_of(request), status, limit)})


async def scan(request: Request) -> JSONResponse:
    """
    summary: Compare the whole base for duplicates now (supervisors and admins); new pairs are kept
    responses:
      200: {description: "{customers, found, new, open}"}
    """
    await require_agent(request, role="supervisor")
    return JSONResponse(await duplicates.scan(ctx_of(request)))


async def dismiss(request: Request) -> JSONResponse:
    """
    summary: Not one person, so the pair is not suggested again
    responses:
      200: {description: "{id, status}"}
    """
    who = await require_agent(request)
    pair_id = path_id(request, "pair_id")
    await duplicates.dismiss(ctx_of(request), pair_id, who.id)
    return JSONResponse({"id": pair_id, "status": "dismissed"})


async def list_merges(request: Request) -> JSONResponse:
    """
    summary: Merges into or out of the customer, newest first
    responses:
      200: {description: "{items: [{id, survivor_id, other_id, other_name, agent_id, at, undone_at, moved}]}"}
    """
    await require_agent(request)
    return JSONResponse({"items": await customers.merges(ctx_of(request), path_id(request, "customer_id"))})


async def undo_merge(request: Request) -> JSONResponse:
    """
    summary: Undo a merge; what moved goes back, the two are known not to be one person
    responses:
      200: {description: "{survivor: customer, restored: customer}"}
      409: {description: undone already, or the survivor was merged into another customer since}
    """
    who = await require_agent(request)
    ctx = ctx_of(request)
    survivor_id, other_id = await customers.undo_merge(ctx, path_id(request, "merge_id"), who.id)
    async with ctx.db.read() as s:
        survivor, other = await s.get(Customer, survivor_id), await s.get(Customer, other_id)
        assert survivor is not None and other is not None
        return JSONResponse({"survivor": customer_view(survivor), "restored": customer_view(other)})


routes = [
    Route("/api/customers/{customer_id}/duplicates", of_customer, methods=["GET"]),
    Route("/api/customers/{customer_id}/merges", list_merges, methods=["GET"]),
    Route("/api/duplicates", list_pairs, methods=["GET"]),
    Route("/api/duplicates/scan", scan, methods=["POST"]),
    Route("/api/duplicates/{pair_id}/dismiss", dismiss, methods=["POST"]),
    Route("/api/merges/{merge_id}/undo", undo_merge, methods=["POST"]),
]
