"""Recording signed-in requests on the audit log (app.actions.audit): every change an agent makes (any
method but GET), every look at one customer's data (a ticket, a profile, a history, an attachment, a
customer search, the quarantine, an FAQ export, the audit log itself) and every login, successful or not.
What an agent merely lists or polls (queues, the team, their own profile, the FAQ, canned responses) is
not recorded, nor is a relay's mail (`POST /api/email/inbound`: the message itself is the record).

The entry is written after the response has gone out, so it costs the caller no time; a process killed
in between loses that entry (the change itself is committed before the response)."""

from __future__ import annotations

import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.actions import audit

log = logging.getLogger(__name__)

READS = {
    "get_ticket",
    "profile",
    "history",
    "attachment",
    "search",
    "list_quarantine",
    "export_faq",
    "list_audit",
    "export_customer",
}
NOT_CHANGES = {"inbound", "bot_ask", "token"}  # POSTs that change nothing worth a line, or have their own
PRINCIPAL = "principal"  # request.state key: the Principal that require_agent found
DETAIL = "audit_detail"  # request.state key: what the handler adds (a login's email)


class AuditTrail:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            await self._record(scope, status)

    async def _record(self, scope: Scope, status: int) -> None:
        endpoint = scope.get("endpoint")
        name = getattr(endpoint, "__name__", "")
        state: dict[str, Any] = scope.get("state") or {}
        who = state.get(PRINCIPAL)
        method = scope["method"]
        if name == "token":
            action = "login" if status == 200 else "login.failed"
        elif who is None:
            return  # refused before anyone was known (401): nothing was read or changed
        elif name in READS or (method not in ("GET", "HEAD") and name not in NOT_CHANGES):
            action = name
        else:
            return
        detail: dict[str, Any] = dict(state.get(DETAIL) or {})
        if scope.get("path_params"):
            detail["params"] = {k: str(v) for k, v in scope["path_params"].items()}
        query = scope.get("query_string", b"").decode("latin-1")
        if query:
            detail["query"] = query[:500]
        client = scope.get("client")
        try:
            await audit.record(
                scope["app"].state.ctx,
                action,
                agent_id=getattr(who, "id", None),
                agent_email=getattr(who, "email", "") or str(detail.get("email", "")),
                method=method,
                path=scope["path"],
                status=status,
                client=client[0] if client else "",
                detail=detail,
            )
        except Exception:
            log.exception("writing the audit log failed for %s %s", method, scope["path"])
