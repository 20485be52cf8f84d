"""REST: the FAQ knowledge base. Any agent may read it and teach it the answer to a question the bot handed
to them (POST /api/faq/learn); admins change it. Every change bumps the FAQ revision, so every process's bot
re-indexes (incrementally: only new phrasings are embedded)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.actions import faq
from app.http.auth import ctx_of, require_agent
from app.http.errors import ApiError, path_id, read_body, read_json

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_QUERY = 200


def _changed(request: Request) -> None:
    """This process's bot reloads before its next answer; others see the new revision within seconds."""
    bot = getattr(request.app.state, "bot", None)
    if bot is not None:
        bot.invalidate()


async def _index(request: Request) -> dict[str, Any]:
    """Which matcher answers now: "semantic" once the model is loaded and the phrasings embedded."""
    bot = getattr(request.app.state, "bot", None)
    if bot is None:
        return {"matcher": None, "model": None}
    matcher = await bot.matcher()
    indexer = getattr(bot, "indexer", None)
    return {"matcher": getattr(matcher, "kind", "lexical"), "model": indexer.status if indexer else "off"}


async def list_faq(request: Request) -> JSONResponse:
    """
    summary: FAQ entries with their phrasings, oldest first; q filters on answer and phrasings (any case)
    parameters:
      - {name: q, in: query, schema: {type: string}}
    responses:
      200: {description: "{items: [{id, answer, phrasings: [string], created_at, updated_at}], revision, index: {matcher, model}}"}
    """
    await require_agent(request)
    q = request.query_params.get("q", "").strip()
    if len(q) > MAX_QUERY:
        raise ApiError(400, "invalid", f"q has at most {MAX_QUERY} characters")
    items, rev = await faq.list_entries(ctx_of(request), q or None)
    return JSONResponse({"items": items, "revision": rev, "index": await _index(request)})


async def get_faq(request: Request) -> JSONResponse:
    """
    summary: One FAQ entry
    responses:
      200: {description: "{id, answer, phrasings, created_at, updated_at}"}
      404: {description: no such entry}
    """
    await require_agent(request)
    return JSONResponse(await faq.get_entry(ctx_of(request), path_id(request, "entry_id", "FAQ entry id")))


async def create_faq(request: Request) -> JSONResponse:
    """
    summary: Add an FAQ entry (admins)
    requestBody: {content: {application/json: {schema: {type: object, required: [answer, phrasings], properties: {answer: {type: string}, phrasings: {type: array, items: {type: string}}}}}}}
    responses:
      201: {description: the entry}
      400: {description: answer or phrasings missing or malformed}
      403: {description: not an admin}
      409: {description: another entry has this answer}
    """
    await require_agent(request, role="admin")
    body = await read_json(request)
    entry = await faq.create_entry(ctx_of(request), body)
    _changed(request)
    return JSONResponse(entry, status_code=201)


async def update_faq(request: Request) -> JSONResponse:
    """
    summary: Change an FAQ entry's answer and/or replace its phrasings (admins)
    requestBody: {content: {application/json: {schema: {type: object, properties: {answer: {type: string}, phrasings: {type: array, items: {type: string}}}}}}}
    responses:
      200: {description: the entry}
      400: {description: malformed fields}
      403: {description: not an admin}
      404: {description: no such entry}
      409: {description: another entry has this answer}
    """
    await require_agent(request, role="admin")
    entry_id = path_id(request, "entry_id", "FAQ entry id")
    body = await read_json(request)
    entry = await faq.update_entry(ctx_of(request), entry_id, body)
    _changed(request)
    return JSONResponse(entry)


async def delete_faq(request: Request) -> Response:
    """
    summary: Delete an FAQ entry and its phrasings (admins)
    responses:
      204: {description: deleted}
      403: {description: not an admin}
      404: {description: no such entry}
    """
    await require_agent(request, role="admin")
    await faq.delete_entry(ctx_of(request), path_id(request, "entry_id", "FAQ entry id"))
    _changed(request)
    return Response(status_code=204)


async def learn_faq(request: Request) -> JSONResponse:
    """
    summary: Teach the bot an agent's answer to a handed-off question (any agent). With entry_id the question becomes a phrasing of that entry; without, a new entry with this answer (an entry that has this answer gets the phrasing instead). With ticket_id, a faq.learned line goes on that ticket's history
    requestBody: {content: {application/json: {schema: {type: object, required: [question], properties: {question: {type: string}, answer: {type: string}, entry_id: {type: integer, nullable: true}, ticket_id: {type: integer, nullable: true}}}}}}
    responses:
      201: {description: "{entry, created: true, added: true}: a new entry"}
      200: {description: "{entry, created: false, added}: the question is a phrasing of that entry now (added false: it was already)"}
      400: {description: question or answer missing or malformed, answer sent with entry_id, or a bad id}
      404: {description: no such entry, or a ticket the agent cannot see}
      409: {description: another entry has this question as a phrasing, or the entry is full}
    """
    who = await require_agent(request)
    body = await read_json(request)
    result = await faq.learn(ctx_of(request), who, body)
    if result["added"]:
        _changed(request)
    return JSONResponse(result, status_code=201 if result["created"] else 200)


async def export_faq(request: Request) -> Response:
    """
    summary: The knowledge base as CSV (question,answer; one row per phrasing), as faq import reads it
    responses:
      200: {description: text/csv}
    """
    await require_agent(request)
    body = await faq.export_csv(ctx_of(request))
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="faq.csv"', "Cache-Control": "no-store"},
    )


async def import_faq(request: Request) -> JSONResponse:
    """
    summary: Import a CSV (columns question,answer; rows sharing an answer are one entry); replace=true replaces the whole knowledge base (admins)
    parameters:
      - {name: replace, in: query, schema: {type: boolean}}
    requestBody: {content: {text/csv: {schema: {type: string}}}}
    responses:
      200: {description: "{entries, phrasings_added, replaced}"}
      400: {description: not CSV, no question/answer header, or an empty cell}
      403: {description: not an admin}
      413: {description: over 5 MiB}
      415: {description: not text/csv}
    """
    await require_agent(request, role="admin")
    replace_raw = request.query_params.get("replace", "false").lower()
    if replace_raw not in ("true", "false", "1", "0", ""):
        raise ApiError(400, "invalid", "replace must be true or false")
    replace = replace_raw in ("true", "1")
    ctype = request.headers.get("content-type", "text/csv").split(";")[0].strip().lower()
    if ctype not in ("text/csv", "text/plain", "application/csv", ""):
        raise ApiError(415, "unsupported_media_type", "send the CSV itself (Content-Type: text/csv)")
    raw = await read_body(request, MAX_IMPORT_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ApiError(400, "bad_csv", "the CSV must be UTF-8") from e
    rows = faq.parse_csv(text)
    if not rows:
        raise ApiError(400, "bad_csv", "the CSV has no rows under its header")
    entries, added = await faq.import_rows(ctx_of(request), rows, replace=replace)
    _changed(request)
    return JSONResponse({"entries": entries, "phrasings_added": added, "replaced": replace})


routes = [
    Route("/api/faq", list_faq, methods=["GET"]),
    Route("/api/faq", create_faq, methods=["POST"]),
    Route("/api/faq/learn", learn_faq, methods=["POST"]),
    Route("/api/faq/export.csv", export_faq, methods=["GET"]),
    Route("/api/faq/import", import_faq, methods=["POST"]),
    Route("/api/faq/{entry_id}", get_faq, methods=["GET"]),
    Route("/api/faq/{entry_id}", update_faq, methods=["PATCH"]),
    Route("/api/faq/{entry_id}", delete_faq, methods=["DELETE"]),
]
