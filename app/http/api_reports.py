"""REST: the supervisors' reports (app/domain/reports.py) as JSON for the board's charts and as CSV.

One pair of routes per report kind, `GET /api/reports/{kind}` and `GET /api/reports/{kind}.csv`, made from
`reports.KINDS`: a kind added there gets its routes, its OpenAPI entry and its CSV here."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.domain import reports
from app.domain.types import utcnow
from app.http.auth import ctx_of, require_agent

# a spreadsheet runs a cell that starts with one of these as a formula
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_PARAMETERS = """
    parameters:
      - {name: from, in: query, schema: {type: string, format: date}, description: "first UTC day (default 29 days before to)"}
      - {name: to, in: query, schema: {type: string, format: date}, description: "last UTC day, included (default today)"}
      - {name: group, in: query, schema: {type: string, enum: [GROUPS]}, description: "rows per GROUP_TEXT"}
      - {name: queue, in: query, schema: {type: string}, description: "only this queue (by name)"}
      - {name: channel, in: query, schema: {type: string, enum: [chat, email, sms, voice]}, description: "only this channel"}
    responses:
      400: {description: "bad_date, bad_range (to before from), range_too_long (over 366 days), bad_group, bad_channel, unknown_queue"}
      403: {description: supervisors and admins only}
"""


async def _report(request: Request, kind: reports.Kind) -> dict[str, Any]:
    await require_agent(request, role="supervisor")
    db = ctx_of(request).db
    r, queue = reports.parse_range(request.query_params, utcnow().date(), db.is_sqlite, kind.groups)
    r, rows = await reports.run(db, kind, r, queue)
    return {
        "kind": kind.name,
        "title": kind.title,
        "from": r.start.isoformat(),
        "to": r.end.isoformat(),
        "group": r.group,
        "queue": queue,
        "channel": r.channel,
        "columns": list(kind.columns),
        "rows": rows,
    }


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def to_csv(report: dict[str, Any]) -> str:
    """A header row (the grouping, then the figures), one row per group; text cells that a spreadsheet
    would run as a formula get a leading apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([report["group"], *report["columns"]])
    for row in report["rows"]:
        writer.writerow([_cell(row["key"]), *(_cell(row[c]) for c in report["columns"])])
    return out.getvalue()


def _endpoints(
    kind: reports.Kind,
) -> tuple[Callable[..., Awaitable[Response]], Callable[..., Awaitable[Response]]]:
    async def as_json(request: Request) -> Response:
        return JSONResponse(await _report(request, kind))

    async def as_csv(request: Request) -> Response:
        report = await _report(request, kind)
        name = f"{kind.name}-by-{report['group']}-{report['from']}-to-{report['to']}.csv"
        return Response(
            to_csv(report).encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )

    figures = ", ".join(kind.columns)
    groups = ["day (default)", "week (from Monday)", *kind.groups[2:]]
    parameters = _PARAMETERS.replace("GROUPS", ", ".join(kind.groups)).replace(
        "GROUP_TEXT", ", ".join(groups[:-1]) + " or " + groups[-1]
    )
    as_json.__doc__ = f"""
    summary: "Report, {kind.title.lower()}: {kind.doc}"
{parameters}      200: {{description: "{{kind, title, from, to, group, queue, channel, columns, rows: [{{key, {figures}}}]}}"}}
    """
    as_csv.__doc__ = f"""
    summary: "Report, {kind.title.lower()}, as CSV: a header row ({{group}},{",".join(kind.columns)}), one row per group"
{parameters}      200: {{description: text/csv, an attachment}}
    """
    as_json.__name__ = f"report_{kind.name}"
    as_csv.__name__ = f"report_{kind.name}_csv"
    return as_json, as_csv


def _routes() -> list[Route]:
    out = []
    for kind in reports.KINDS.values():
        as_json, as_csv = _endpoints(kind)
        out.append(Route(f"/api/reports/{kind.name}", as_json, methods=["GET"]))
        out.append(Route(f"/api/reports/{kind.name}.csv", as_csv, methods=["GET"]))
    return out


routes = _routes()
