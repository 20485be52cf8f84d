"""REST: raw mail from relays, and the quarantine of what could not be understood (admins)."""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.actions.access import check_ticket
from app.actions.email import MAX_RAW, ingest_raw
from app.domain.models import Attachment, Quarantine, Ticket
from app.http.auth import ctx_of, require_agent
from app.http.errors import ApiError, int_param, read_body


async def inbound(request: Request) -> JSONResponse:
    """
    summary: A raw RFC 5322 message from a mail relay (Content-Type message/rfc822)
    requestBody: {content: {message/rfc822: {schema: {type: string, format: binary}}}}
    responses:
      201: {description: stored (or quarantined)}
      200: {description: a duplicate, stored before}
    """
    await require_agent(request)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in ("message/rfc822", "text/plain", "application/octet-stream"):
        raise ApiError(415, "unsupported_media_type", "send the raw mail as message/rfc822")
    raw = await read_body(request, MAX_RAW)
    if not raw.strip():
        raise ApiError(400, "empty", "the request body is empty")
    result = await ingest_raw(ctx_of(request), raw)
    body = {
        "ticket_id": result.ticket_id,
        "message_id": result.message_id,
        "duplicate": result.duplicate,
        "quarantine_id": result.quarantine_id,
    }
    return JSONResponse(body, status_code=200 if result.duplicate else 201)


async def list_quarantine(request: Request) -> JSONResponse:
    """
    summary: Input that could not be parsed, kept raw (admins)
    responses:
      200: {description: "{items: [{id, channel, error, size, created_at, processed_at}]}"}
    """
    await require_agent(request, role="admin")
    async with ctx_of(request).db.read() as s:
        rows = (await s.execute(select(Quarantine).order_by(Quarantine.id.desc()).limit(200))).scalars()
        items = [
            {
                "id": q.id,
                "channel": q.channel,
                "error": q.error,
                "size": len(q.raw),
                "created_at": q.created_at.isoformat(),
                "processed_at": q.processed_at.isoformat() if q.processed_at else None,
                "message_id": q.message_id,
            }
            for q in rows
        ]
    return JSONResponse({"items": items})


async def reprocess(request: Request) -> JSONResponse:
    """
    summary: Parse a quarantined mail again (after a fix); it stays in quarantine if it still fails
    responses:
      200: {description: the outcome}
    """
    await require_agent(request, role="admin")
    qid = int_param(request.path_params["quarantine_id"], "quarantine id")
    ctx = ctx_of(request)
    async with ctx.db.read() as s:
        row = await s.get(Quarantine, qid)
    if row is None or row.channel != "email":
        raise ApiError(404, "not_found", f"quarantined item {qid} not found")
    result = await ingest_raw(ctx, row.raw, quarantined=qid)
    return JSONResponse(
        {
            "ticket_id": result.ticket_id,
            "message_id": result.message_id,
            "still_quarantined": result.message_id is None,
        }
    )


async def attachment(request: Request) -> Response:
    """
    summary: Download an attachment (always as a file, never rendered), if the caller may see its ticket
    responses:
      200: {description: the file}
    """
    who = await require_agent(request)
    aid = request.path_params["attachment_id"]
    async with ctx_of(request).db.read() as s:
        row = await s.get(Attachment, aid) if len(aid) == 32 else None
        if row is None:
            raise ApiError(404, "not_found", "no such attachment")
        check_ticket(who, await s.get(Ticket, row.ticket_id), row.ticket_id)
    safe = "".join(ch for ch in row.filename if ch.isalnum() or ch in "._- ")[:150] or "attachment"
    return Response(
        row.data,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{safe}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


routes = [
    Route("/api/email/inbound", inbound, methods=["POST"]),
    Route("/api/quarantine", list_quarantine, methods=["GET"]),
    Route("/api/quarantine/{quarantine_id}/reprocess", reprocess, methods=["POST"]),
    Route("/api/attachments/{attachment_id}", attachment, methods=["GET"]),
]
