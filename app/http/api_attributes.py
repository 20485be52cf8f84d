"""REST: the customer attributes admins define (every agent reads them to fill a profile in)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.actions import attributes
from app.http.auth import ctx_of, require_agent
from app.http.errors import read_json


async def list_attributes(request: Request) -> JSONResponse:
    """
    summary: The customer attributes defined, oldest first
    responses:
      200: {description: "{items: [{key, label, type, choices}]}"}
    """
    await require_agent(request)
    return JSONResponse({"items": await attributes.list_definitions(ctx_of(request))})


async def define_attribute(request: Request) -> JSONResponse:
    """
    summary: Define a customer attribute (admins); type is text, number, date or choice (with choices)
    requestBody: {content: {application/json: {schema: {type: object, required: [key, type], properties: {key: {type: string}, label: {type: string}, type: {enum: [text, number, date, choice]}, choices: {type: array, items: {type: string}}}}}}}
    responses:
      201: {description: "{key, label, type, choices}"}
      409: {description: the key is taken}
    """
    await require_agent(request, role="admin")
    definition = await attributes.define(ctx_of(request), await read_json(request))
    return JSONResponse(definition, status_code=201)


async def update_attribute(request: Request) -> JSONResponse:
    """
    summary: Change an attribute's label or a choice attribute's choices (admins)
    responses:
      200: {description: "{key, label, type, choices}"}
    """
    await require_agent(request, role="admin")
    key = request.path_params["key"]
    return JSONResponse(await attributes.redefine(ctx_of(request), key, await read_json(request)))


async def delete_attribute(request: Request) -> Response:
    """
    summary: Remove an attribute's definition (admins); values customers hold stay in their data
    responses:
      204: {description: removed}
    """
    await require_agent(request, role="admin")
    await attributes.undefine(ctx_of(request), request.path_params["key"])
    return Response(status_code=204)


routes = [
    Route("/api/customer-attributes", list_attributes, methods=["GET"]),
    Route("/api/customer-attributes", define_attribute, methods=["POST"]),
    Route("/api/customer-attributes/{key}", update_attribute, methods=["PATCH"]),
    Route("/api/customer-attributes/{key}", delete_attribute, methods=["DELETE"]),
]
