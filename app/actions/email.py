"""Mail in: parse at the edge, store once, or keep the raw mail in quarantine; never lose it."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app.actions import inbound
from app.actions.context import Context
from channels.base import Unparseable

log = logging.getLogger(__name__)
MAX_RAW = 25 * 1024 * 1024


@dataclass(frozen=True)
class Ingested:
    ticket_id: int | None
    message_id: int | None
    duplicate: bool
    quarantine_id: int | None


async def ingest_raw(ctx: Context, raw: bytes, quarantined: int | None = None) -> Ingested:
    """Store one raw RFC 5322 mail; committed when this returns. Database errors propagate (the sender
    retries: SMTP 451, HTTP 503). `quarantined`: the quarantine row this mail comes from, processed again."""
    from channels.email import parse_email  # the parser loads on first use, not at every start

    try:
        parsed = parse_email(raw)
    except Unparseable as e:
        qid = await inbound.quarantine(ctx, "email", raw, str(e), existing=quarantined)
        log.warning("mail quarantined as %s: %s", qid, e)
        return Ingested(None, None, False, qid)
    received = await inbound.receive_inbound(ctx, parsed, raw)
    if quarantined is not None:
        await inbound.release(ctx, quarantined, received.message_id)
    return Ingested(received.ticket_id, received.message_id, received.duplicate, None)
