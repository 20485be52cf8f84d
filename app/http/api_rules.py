"""REST: automation rules with their dry run, business-hours calendars for queues, and SLA policies (admins
edit them; supervisors may read them)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.actions import calendars, rules, sla
from app.http.auth import ctx_of, require_agent
from app.http.errors import path_id, read_json


def _runner(request: Request) -> rules.RuleRunner:
    runner: rules.RuleRunner = request.app.state.rule_runner
    return runner


async def list_rules(request: Request) -> JSONResponse:
    """
    summary: The automation rules, in the order they run (supervisors and admins)
    responses:
      200: {description: "{items: [{id, name, trigger, conditions, actions, active, position}]}"}
    """
    await require_agent(request, role="supervisor")
    return JSONResponse({"items": await rules.listing(ctx_of(request))})


async def create_rule(request: Request) -> JSONResponse:
    """
    summary: Add a rule (admins); see README for its conditions and actions
    requestBody: {content: {application/json: {schema: {type: object, required: [name, trigger, actions]}}}}
    responses:
      201: {description: the rule}
      400: {description: what is wrong with it}
    """
    await require_agent(request, role="admin")
    rule = await rules.create(ctx_of(request), await read_json(request))
    _runner(request).changed()
    return JSONResponse(rule, status_code=201)


async def replace_rule(request: Request) -> JSONResponse:
    """
    summary: Replace a rule with a new version of it (admins)
    responses:
      200: {description: the rule}
    """
    await require_agent(request, role="admin")
    rule = await rules.replace(ctx_of(request), path_id(request, "rule_id"), await read_json(request))
    _runner(request).changed()
    return JSONResponse(rule)


async def delete_rule(request: Request) -> Response:
    """
    summary: Remove a rule (admins)
    responses:
      204: {description: removed}
    """
    await require_agent(request, role="admin")
    await rules.remove(ctx_of(request), path_id(request, "rule_id"))
    _runner(request).changed()
    return Response(status_code=204)


async def dry_run(request: Request) -> JSONResponse:
    """
    summary: Try a rule (saved, by rule_id, or as written, in rule) on the latest tickets; changes nothing
    requestBody: {content: {application/json: {schema: {type: object, properties: {rule: {type: object}, rule_id: {type: integer}, limit: {type: integer}}}}}}
    responses:
      200: {description: "{checked, matched: [{ticket_id, subject, status, channel, queue, would}]}"}
    """
    await require_agent(request, role="admin")
    return JSONResponse(await rules.dry_run(ctx_of(request), await read_json(request)))


async def list_calendars(request: Request) -> JSONResponse:
    """
    summary: Business-hours calendars (supervisors and admins)
    responses:
      200: {description: "{items: [{id, name, timezone, hours, holidays}]}"}
    """
    await require_agent(request, role="supervisor")
    return JSONResponse({"items": await calendars.listing(ctx_of(request))})


async def create_calendar(request: Request) -> JSONResponse:
    """
    summary: Add a calendar (admins); hours per weekday as [from, to] spans in its timezone, holidays as dates
    responses:
      201: {description: the calendar}
    """
    await require_agent(request, role="admin")
    return JSONResponse(await calendars.create(ctx_of(request), await read_json(request)), status_code=201)


async def update_calendar(request: Request) -> JSONResponse:
    """
    summary: Change a calendar's name, timezone, hours or holidays (admins)
    responses:
      200: {description: the calendar}
    """
    await require_agent(request, role="admin")
    cid = path_id(request, "calendar_id")
    return JSONResponse(await calendars.change(ctx_of(request), cid, await read_json(request)))


async def delete_calendar(request: Request) -> Response:
    """
    summary: Remove a calendar (admins); its queues go back to the default hours
    responses:
      204: {description: removed}
    """
    await require_agent(request, role="admin")
    await calendars.remove(ctx_of(request), path_id(request, "calendar_id"))
    return Response(status_code=204)


async def set_queue_calendar(request: Request) -> JSONResponse:
    """
    summary: The calendar a queue counts business hours in (admins); null for the default (Mon-Fri 09-17 UTC)
    requestBody: {content: {application/json: {schema: {type: object, properties: {calendar_id: {type: integer, nullable: true}}}}}}
    responses:
      200: {description: "{queue, calendar_id}"}
    """
    await require_agent(request, role="admin")
    body = await read_json(request)
    queue = request.path_params["queue"]
    return JSONResponse(await calendars.set_for_queue(ctx_of(request), queue, body.get("calendar_id")))


async def list_policies(request: Request) -> JSONResponse:
    """
    summary: SLA policies (supervisors and admins)
    responses:
      200: {description: "{items: [{id, queue, priority, first_response_minutes, resolution_minutes}]}"}
    """
    await require_agent(request, role="supervisor")
    return JSONResponse({"items": await sla.listing(ctx_of(request))})


async def create_policy(request: Request) -> JSONResponse:
    """
    summary: Add an SLA policy (admins); queue and priority null mean any, targets in business minutes
    requestBody: {content: {application/json: {schema: {type: object, properties: {queue: {type: string, nullable: true}, priority: {type: string, nullable: true}, first_response_minutes: {type: number}, resolution_minutes: {type: number}}}}}}
    responses:
      201: {description: the policy}
      409: {description: one exists for that queue and priority}
    """
    await require_agent(request, role="admin")
    return JSONResponse(await sla.create(ctx_of(request), await read_json(request)), status_code=201)


async def update_policy(request: Request) -> JSONResponse:
    """
    summary: Change an SLA policy's targets (admins)
    responses:
      200: {description: the policy}
    """
    await require_agent(request, role="admin")
    pid = path_id(request, "policy_id")
    return JSONResponse(await sla.change(ctx_of(request), pid, await read_json(request)))


async def delete_policy(request: Request) -> Response:
    """
    summary: Remove an SLA policy (admins)
    responses:
      204: {description: removed}
    """
    await require_agent(request, role="admin")
    await sla.remove(ctx_of(request), path_id(request, "policy_id"))
    return Response(status_code=204)


routes = [
    Route("/api/rules", list_rules, methods=["GET"]),
    Route("/api/rules", create_rule, methods=["POST"]),
    Route("/api/rules/dry-run", dry_run, methods=["POST"]),
    Route("/api/rules/{rule_id}", replace_rule, methods=["PUT"]),
    Route("/api/rules/{rule_id}", delete_rule, methods=["DELETE"]),
    Route("/api/calendars", list_calendars, methods=["GET"]),
    Route("/api/calendars", create_calendar, methods=["POST"]),
    Route("/api/calendars/{calendar_id}", update_calendar, methods=["PATCH"]),
    Route("/api/calendars/{calendar_id}", delete_calendar, methods=["DELETE"]),
    Route("/api/queues/{queue}/calendar", set_queue_calendar, methods=["PUT"]),
    Route("/api/sla-policies", list_policies, methods=["GET"]),
    Route("/api/sla-policies", create_policy, methods=["POST"]),
    Route("/api/sla-policies/{policy_id}", update_policy, methods=["PATCH"]),
    Route("/api/sla-policies/{policy_id}", delete_policy, methods=["DELETE"]),
]
