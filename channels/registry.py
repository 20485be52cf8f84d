"""The channels this server can send on: one line a channel. (Chat is delivered by the websockets.)"""

from __future__ import annotations

from channels.base import ChannelAdapter
from channels.email.outbound import EmailAdapter
from config.settings import Settings


def adapters(settings: Settings) -> dict[str, ChannelAdapter]:
    return {
        "email": EmailAdapter(settings.smtp_relay, settings.support_address),
    }
