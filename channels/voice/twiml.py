"""TwiML for the phone menu, built with the twilio library's `VoiceResponse` (pure: text in, XML out).

Every URL handed to Twilio is relative, and Twilio resolves it against the URL it just requested (the
public one, so a path prefix behind a proxy keeps working). The routes pass `base`: "voice/" when
answering `/twilio/voice` itself, "" when answering one of the paths under `/twilio/voice/`; either way
the names below resolve to `/twilio/voice/<name>`.
"""

from __future__ import annotations

from collections.abc import Sequence

from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

GREETING = "Thank you for calling."
MENU_PROMPT = "Press 1 for billing, 2 for technical support, or tell me your question."
NO_INPUT = "Sorry, I did not catch that."
CLARIFY_PROMPT = (
    "I'm not sure I understood. Could you say it another way? "
    "You can also press 0 or ask for a person at any time."
)
HOLD = "Please hold while we connect you."
VOICEMAIL_PROMPT = "Please leave a message after the tone."
THANKS = "Thank you, we received your message and will call you back. Goodbye."
NOTHING_RECORDED = "We did not receive a message. Thank you for calling, goodbye."
DIAL_TIMEOUT_S = 20
GATHER_TIMEOUT_S = 5
MAX_RECORDING_S = 120


def _say_all(response: VoiceResponse, lines: Sequence[str]) -> None:
    for line in lines:
        if line.strip():
            response.say(line)


def menu(
    base: str,
    attempt: int,
    *,
    before: Sequence[str] = (),
    prompt: str = MENU_PROMPT,
    after: str | None = None,
) -> str:
    """Say `before`, then `prompt` (the menu) in a speech-or-keypad Gather; with no input Twilio falls
    through to the Redirect, which reports the silence to the same action. `after` ("answer" or "clarify":
    what the bot just said) travels in the action's URL, so the next step knows what the caller answers."""
    action = f"{base}menu?attempt={attempt}" + (f"&after={after}" if after else "")
    response = VoiceResponse()
    _say_all(response, before)
    gather = Gather(
        input="speech dtmf",
        num_digits=1,
        timeout=GATHER_TIMEOUT_S,
        speech_timeout="auto",
        hints="billing, technical support, agent",
        action=action,
        method="POST",
    )
    gather.say(prompt)
    response.append(gather)
    response.redirect(action, method="POST")
    return str(response.to_xml())


def dial(base: str, number: str, *, before: Sequence[str] = (HOLD,)) -> str:
    """Put the caller through to an agent's phone; Twilio reports the outcome to `dial-status`."""
    response = VoiceResponse()
    _say_all(response, before)
    d = Dial(action=f"{base}dial-status", method="POST", timeout=DIAL_TIMEOUT_S)
    d.number(number)
    response.append(d)
    return str(response.to_xml())


def voicemail(base: str, *, before: Sequence[str] = ()) -> str:
    """Record a message (transcribed); a recording cut short with no audio falls through to the goodbye."""
    response = VoiceResponse()
    _say_all(response, [*before, VOICEMAIL_PROMPT])
    response.record(
        max_length=MAX_RECORDING_S,
        play_beep=True,
        action=f"{base}recorded",
        method="POST",
        transcribe=True,
        transcribe_callback=f"{base}transcription",
    )
    response.say(NOTHING_RECORDED)
    response.hangup()
    return str(response.to_xml())


def goodbye(text: str) -> str:
    response = VoiceResponse()
    _say_all(response, [text])
    response.hangup()
    return str(response.to_xml())


def hangup() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response.to_xml())


def empty() -> str:
    """Nothing to do (status callbacks, a call we know nothing of): Twilio ignores it or hangs up."""
    return str(VoiceResponse().to_xml())
