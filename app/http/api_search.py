"""REST: one search box over customers and the tickets the caller may see."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.actions import search_index
from app.actions.access import ticket_filter
from app.domain import queries, search
from app.domain.views import customer_view
from app.http.auth import ctx_of, require_agent
from app.http.errors import ApiError


async def search_all(request: Request) -> JSONResponse:
    """
    summary: Customers by name, company, email or phone, and tickets the caller may see by subject or message text (notes included), newest first
    parameters:
      - {name: q, in: query, schema: {type: string, maxLength: 200}, description: "words; the last may be the start of a word"}
      - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 100, default: 20}, description: at most this many of each}
    responses:
      200: {description: "{customers: [customer], tickets: [{ticket, snippet, message_id}]}"}
      400: {description: q over 200 characters, or limit not a whole number from 1 to 100}
    """
    who = await require_agent(request)
    q = request.query_params.get("q", "")
    if len(q) > search.MAX_QUERY:
        raise ApiError(400, "invalid", f"q is at most {search.MAX_QUERY} characters")
    limit = search.limit_param(request.query_params.get("limit"))
    if limit is None:
        raise ApiError(400, "invalid", f"limit must be a whole number from 1 to {search.MAX_LIMIT}")
    if not search.clean(q):
        return JSONResponse({"customers": [], "tickets": []})
    # SQLite: the messages of the last moments too (bounded: in a burst of chat, the latest may be missing)
    await search_index.catch_up(ctx_of(request), rounds=search_index.SEARCH_CATCH_UP // search_index.BATCH)
    async with ctx_of(request).db.read() as s:
        found = await queries.search_customers(s, q, limit)
        customers = [customer_view(c) for c in found]
        tickets = await search.tickets(s, q, ticket_filter(who), limit)
    return JSONResponse({"customers": customers, "tickets": tickets})


routes = [Route("/api/search", search_all, methods=["GET"])]
