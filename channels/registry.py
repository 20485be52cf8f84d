"""The channels this server can send on: one line a channel. (Chat is delivered by the websockets.)"""

from __future__ import annotations

from channels.base import ChannelAdapter
from channels.email.outbound import EmailAdapter
from channels.sms.rest import TwilioSmsAdapter
from config.settings import Settings


def adapters(settings: Settings) -> dict[str, ChannelAdapter]:
    return {
        "email": EmailAdapter(settings.smtp_relay, settings.support_address),
        "sms": TwilioSmsAdapter(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_from_number,
            settings.twilio_api_url,
            settings.base_url + "/twilio/sms/status",
        ),
    }
