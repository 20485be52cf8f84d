"""Customer satisfaction: when a person resolves a ticket, the customer gets one question on the ticket's
channel (chat, email, SMS): a link to a page with five stars. Scores count per agent and per queue.

One survey a ticket (a ticket resolved again is not asked twice); none for tickets only the bot handled,
phone calls, customers who stopped texts, or when SWITCHBOARD_CSAT is 0."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError

from app.actions import outbound
from app.actions.common import add_message, lock_ticket, message_event, queue_name
from app.actions.context import Context
from app.actions.errors import Conflict, Invalid, NotFound
from app.bus import Event
from app.domain.models import Agent, CsatSurvey, Customer, Queue, Ticket
from app.domain.types import utcnow
from app.domain.views import iso

CHANNELS = ("chat", "email", "sms")
ANSWER_DAYS = 30  # a survey can be answered (and the answer changed) this long after it was sent
COMMENT_MAX = 2000


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def question(link: str) -> str:
    return f"How did we do? Rate our help from 1 to 5 stars: {link}"


async def send(ctx: Context, ticket_id: int) -> str | None:
    """The survey for a resolved ticket, if it should have one; its token (None: not sent)."""
    token = secrets.token_urlsafe(24)
    events: list[Event] = []
    try:
        async with ctx.db.write() as s:
            ticket = await lock_ticket(s, ticket_id)
            if ticket.status != "resolved" or ticket.channel not in CHANNELS:
                return None
            if ticket.first_response_at is None and ticket.assignee_id is None:
                return None  # the bot's alone: deflection is measured elsewhere
            if (await s.execute(select(CsatSurvey.id).where(CsatSurvey.ticket_id == ticket.id))).first():
                return None
            customer = await s.get(Customer, ticket.customer_id)
            if ticket.channel == "sms" and (customer is None or customer.sms_opt_out):
                return None
            s.add(
                CsatSurvey(
                    token_hash=_hash(token),
                    ticket_id=ticket.id,
                    customer_id=ticket.customer_id,
                    agent_id=ticket.assignee_id,
                    queue_id=ticket.queue_id,
                    channel=ticket.channel,
                )
            )
            link = f"{ctx.settings.base_url}/csat/{token}"
            msg = await add_message(
                s, ticket, body=question(link), author="system", direction="out", status="delivered"
            )
            if ticket.channel != "chat":
                await outbound.prepare(s, ticket, msg, ctx.settings.support_address, automated=True)
            msg.meta = {**(msg.meta or {}), "csat": True}
            events.append(message_event(ticket, msg, await queue_name(s, ticket.queue_id)))
    except IntegrityError:  # surveyed at the same moment by another process
        return None
    await ctx.publish(events)
    return token


async def _survey(s: Any, token: str) -> CsatSurvey:
    survey = (
        await s.execute(select(CsatSurvey).where(CsatSurvey.token_hash == _hash(token)))
    ).scalar_one_or_none()
    if survey is None:
        raise NotFound("no such survey")
    assert isinstance(survey, CsatSurvey)
    return survey


async def show(ctx: Context, token: str) -> dict[str, Any]:
    """What the survey page shows: the ticket's subject, the agent's first name, the score given."""
    async with ctx.db.read() as s:
        survey = await _survey(s, token)
        ticket = await s.get(Ticket, survey.ticket_id)
        agent = await s.get(Agent, survey.agent_id) if survey.agent_id else None
        return {
            "subject": ticket.subject if ticket else "",
            "agent": agent.name.split()[0] if agent and agent.name.split() else None,
            "score": survey.score,
            "comment": survey.comment,
            "answered_at": iso(survey.answered_at),
        }


async def answer(ctx: Context, token: str, score: Any, comment: Any) -> dict[str, Any]:
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise Invalid("score must be a whole number from 1 to 5", "bad_score")
    if comment is None:
        comment = ""
    if not isinstance(comment, str) or len(comment) > COMMENT_MAX:
        raise Invalid(f"comment must be a text of at most {COMMENT_MAX} characters", "bad_comment")
    async with ctx.db.write() as s:
        survey = await _survey(s, token)
        if utcnow() - survey.sent_at > timedelta(days=ANSWER_DAYS):
            raise Conflict("this survey has closed", "closed")
        survey.score, survey.comment, survey.answered_at = score, comment.strip(), utcnow()
    return await show(ctx, token)


async def summary(ctx: Context, days: int) -> dict[str, Any]:
    """Answered surveys of the last `days`: overall, per queue and per agent (count, average, share of 4
    and 5 stars), from SQL."""
    since = utcnow() - timedelta(days=days)
    figures = (
        func.count(CsatSurvey.id),
        func.avg(CsatSurvey.score),
        func.sum(case((CsatSurvey.score >= 4, 1), else_=0)),
    )
    answered = (CsatSurvey.answered_at >= since, CsatSurvey.score.is_not(None))

    def shape(n: int, avg: Any, happy: Any) -> dict[str, Any]:
        return {
            "answered": int(n),
            "average": round(float(avg), 2) if avg is not None else None,
            "satisfied_pct": round(100.0 * int(happy or 0) / n, 1) if n else None,
        }

    async with ctx.db.read() as s:
        n, avg, happy = (await s.execute(select(*figures).where(*answered))).one()
        sent = (await s.execute(select(func.count()).where(CsatSurvey.sent_at >= since))).scalar_one()
        queues = await s.execute(
            select(Queue.name, *figures)
            .join(Queue, Queue.id == CsatSurvey.queue_id)
            .where(*answered)
            .group_by(Queue.name)
        )
        agents = await s.execute(
            select(Agent.id, Agent.name, *figures)
            .join(Agent, Agent.id == CsatSurvey.agent_id)
            .where(*answered)
            .group_by(Agent.id, Agent.name)
        )
        return {
            "days": days,
            "sent": int(sent),
            **shape(n, avg, happy),
            "by_queue": [{"queue": q, **shape(*rest)} for q, *rest in queues.all()],
            "by_agent": [{"agent_id": a, "name": name, **shape(*rest)} for a, name, *rest in agents.all()],
        }


class CsatAsker:
    """The subscriber: a ticket resolved by a person gets its survey."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def on_event(self, event: Event) -> Awaitable[str | None] | None:
        if not self.ctx.settings.csat or event.type != "ticket.updated":
            return None
        ticket = event.data.get("ticket") or {}
        if ticket.get("status") != "resolved" or ticket.get("channel") not in CHANNELS:
            return None
        if ticket.get("first_response_at") is None and ticket.get("assignee_id") is None:
            return None
        return send(self.ctx, int(event.data["ticket_id"]))
