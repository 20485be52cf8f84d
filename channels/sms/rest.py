"""Sending SMS with the twilio library's REST client (Messages resource), against
SWITCHBOARD_TWILIO_API_URL (Twilio's own API unless a test points it at a fake on loopback)."""

from __future__ import annotations

import asyncio
import textwrap

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from channels.base import OutboundMessage
from channels.email.outbound import PermanentFailure

# Twilio joins up to 1600 characters into one concatenated SMS; longer text goes as several messages,
# split at word boundaries
MAX_CHARS = 1600


def split(body: str, limit: int = MAX_CHARS) -> list[str]:
    text = body.strip()
    if len(text) <= limit:
        return [text]
    return textwrap.wrap(text, limit, break_long_words=True, replace_whitespace=False, drop_whitespace=True)


class TwilioSmsAdapter:
    name = "sms"

    def __init__(
        self, account_sid: str, auth_token: str, from_number: str, api_url: str, status_url: str
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.api_url = api_url.rstrip("/")
        self.status_url = status_url

    async def send(self, message: OutboundMessage) -> str:
        if not (self.account_sid and self.auth_token and self.from_number):
            raise PermanentFailure(
                "Twilio is not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER)"
            )
        if not message.to.startswith("+"):
            raise PermanentFailure(f"no phone number to text ({message.to!r})")
        # the library's plain client in a worker thread (its aiohttp client uses a deprecated aiohttp API)
        return await asyncio.to_thread(self._send, message)

    def _send(self, message: OutboundMessage) -> str:
        client = Client(self.account_sid, self.auth_token, http_client=TwilioHttpClient(timeout=30))
        client.api.base_url = self.api_url
        sids: list[str] = []
        try:
            for part in split(message.body):
                sent = client.messages.create(
                    to=message.to, from_=self.from_number, body=part, status_callback=self.status_url or None
                )
                sids.append(str(sent.sid))
        except TwilioRestException as e:
            if 400 <= e.status < 500 and e.status != 429:
                raise PermanentFailure(f"Twilio refused the message: {e.status} {e.msg}") from e
            raise
        return sids[0]
