"""The audit log: who read or changed what, and when (app.http.audit records the requests; commands such
as `switchboard agents password` record themselves). Only admins read it (`GET /api/audit`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.actions.context import Context
from app.domain.models import AuditEntry
from app.domain.views import iso

MAX_LIMIT = 500


async def record(
    ctx: Context,
    action: str,
    *,
    agent_id: int | None = None,
    agent_email: str = "",
    method: str = "",
    path: str = "",
    status: int = 0,
    client: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    async with ctx.db.write() as s:
        s.add(
            AuditEntry(
                agent_id=agent_id,
                agent_email=agent_email[:320],
                action=action[:64],
                method=method[:8],
                path=path[:500],
                status=status,
                client=client[:64],
                detail=detail or {},
            )
        )


async def entries(
    ctx: Context,
    *,
    agent_id: int | None = None,
    action: str | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Newest first; `before` an entry id, to page back."""
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(limit, MAX_LIMIT)))
    if agent_id is not None:
        q = q.where(AuditEntry.agent_id == agent_id)
    if action:
        q = q.where(AuditEntry.action == action)
    if before is not None:
        q = q.where(AuditEntry.id < before)
    async with ctx.db.read() as s:
        rows = (await s.execute(q)).scalars().all()
    return [
        {
            "id": e.id,
            "at": iso(e.at),
            "agent_id": e.agent_id,
            "agent_email": e.agent_email,
            "action": e.action,
            "method": e.method,
            "path": e.path,
            "status": e.status,
            "client": e.client,
            "detail": e.detail,
        }
        for e in rows
    ]
