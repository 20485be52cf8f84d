"""Twilio Messaging webhooks: `POST /twilio/sms` (a text in) and `POST /twilio/sms/status` (delivery).

A text is stored once (by MessageSid) before we answer; the bot's reply (an answer, or a request to put the
question another way) goes back in the TwiML when it is ready within the webhook's budget, else through the
REST API. STOP/START/HELP are honoured.
"""

from __future__ import annotations

import asyncio
import json
import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.twiml.messaging_response import MessagingResponse

from app.actions import customers, inbound, outbound
from app.http.auth import ctx_of
from app.http.twilio_auth import signed_params
from channels.base import Unparseable
from channels.sms import keyword, parse_sms

# how long the webhook waits for the bot before answering Twilio without it (Twilio gives up at 15 s)
BOT_BUDGET_S = 2.0
HELP_TEXT = "You are texting our support team. A person reads every message. Reply STOP to stop texts."


def twiml(text: str | None = None) -> Response:
    reply = MessagingResponse()
    if text:
        reply.message(text)
    return Response(str(reply), media_type="application/xml")


async def sms_in(request: Request) -> Response:
    params = await signed_params(request)
    ctx = ctx_of(request)
    try:
        msg = parse_sms(params)
    except Unparseable as e:
        await inbound.quarantine(ctx, "sms", json.dumps(params).encode(), str(e))
        return twiml()
    received = await inbound.receive_inbound(ctx, msg, bot_inline=True)
    if received.duplicate:
        return twiml()  # Twilio retried: stored before, answered before
    word = keyword(msg.body)
    if word in ("stop", "start"):
        await customers.set_sms_opt_out(ctx, received.customer_id, word == "stop", received.ticket_id)
        return twiml()  # the carrier confirms opt-out and opt-in itself
    if word == "help":
        return twiml(HELP_TEXT)
    if not received.bot_turn:
        return twiml()
    bot = request.app.state.bot
    task = ctx.spawn(bot.respond(received.ticket_id, msg.body, inline_until=time.monotonic() + BOT_BUDGET_S))
    try:
        answer = await asyncio.wait_for(asyncio.shield(task), BOT_BUDGET_S + 0.5)
    except TimeoutError:
        answer = None  # the bot goes on; past the deadline its answer goes out through the REST API
    return twiml(answer)


async def sms_status(request: Request) -> Response:
    params = await signed_params(request)
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    if sid:
        await outbound.delivery_report(
            ctx_of(request),
            "sms",
            sid,
            params.get("MessageStatus") or params.get("SmsStatus") or "",
            params.get("ErrorCode", ""),
        )
    return Response(status_code=204)


routes = [
    Route("/twilio/sms", sms_in, methods=["POST"], include_in_schema=False),
    Route("/twilio/sms/status", sms_status, methods=["POST"], include_in_schema=False),
]
