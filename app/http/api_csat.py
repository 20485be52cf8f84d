"""REST: the customer's satisfaction survey (by the token in its link: no sign-in) and the scores for
supervisors."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.actions import csat
from app.http.auth import ctx_of, require_agent
from app.http.errors import ApiError, int_param, read_json
from app.http.pages import page


def _token(request: Request) -> str:
    token = request.path_params["token"]
    if not 16 <= len(token) <= 64:
        raise ApiError(404, "not_found", "no such survey")
    return str(token)


async def show_survey(request: Request) -> JSONResponse:
    """
    summary: A survey as its page shows it (the token from the link is the only key)
    responses:
      200: {description: "{subject, agent, score, comment, answered_at}"}
      404: {description: no such survey}
    """
    return JSONResponse(await csat.show(ctx_of(request), _token(request)))


async def answer_survey(request: Request) -> JSONResponse:
    """
    summary: The customer's answer, 1 to 5 stars and an optional comment (may be changed for 30 days)
    requestBody: {content: {application/json: {schema: {type: object, required: [score], properties: {score: {type: integer}, comment: {type: string}}}}}}
    responses:
      200: {description: "{subject, agent, score, comment, answered_at}"}
    """
    body = await read_json(request)
    return JSONResponse(
        await csat.answer(ctx_of(request), _token(request), body.get("score"), body.get("comment"))
    )


async def scores(request: Request) -> JSONResponse:
    """
    summary: Satisfaction over the last days (default 30), overall, per queue and per agent (supervisors)
    parameters:
      - {name: days, in: query, schema: {type: integer}}
    responses:
      200: {description: "{days, sent, answered, average, satisfied_pct, by_queue, by_agent}"}
    """
    await require_agent(request, role="supervisor")
    days = int_param(request.query_params.get("days"), "days") or 30
    if not 1 <= days <= 366:
        raise ApiError(400, "invalid", "days must be 1 to 366")
    return JSONResponse(await csat.summary(ctx_of(request), days))


routes = [
    Route("/api/csat", scores, methods=["GET"]),
    Route("/api/csat/{token}", show_survey, methods=["GET"]),
    Route("/api/csat/{token}", answer_survey, methods=["POST"]),
    page("/csat/{token}", "csat.html"),
]
