"""Twilio webhooks: every request is checked against X-Twilio-Signature, computed over the public URL
(SWITCHBOARD_PUBLIC_URL + path + query: behind a proxy request.url is not what Twilio signed) and the
form parameters, with the twilio library's RequestValidator. A missing or wrong signature is a 403 and
changes nothing."""

from __future__ import annotations

from starlette.requests import Request
from twilio.request_validator import RequestValidator

from app.http.errors import ApiError

MAX_FORM_BYTES = 64 * 1024


async def signed_params(request: Request) -> dict[str, str]:
    """The webhook's parameters (form body for POST, query for GET) once the signature holds."""
    settings = request.app.state.settings
    signature = request.headers.get("x-twilio-signature", "")
    if not settings.twilio_auth_token:
        raise ApiError(503, "twilio_not_configured", "TWILIO_AUTH_TOKEN is not set")
    url = settings.base_url + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    params: dict[str, str] = {}
    if request.method == "POST":
        if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
            raise ApiError(413, "too_large", "webhook body too large")
        form = await request.form(max_files=0, max_fields=200)
        params = {k: v for k, v in form.items() if isinstance(v, str)}
    if not signature or not RequestValidator(settings.twilio_auth_token).validate(url, params, signature):
        raise ApiError(403, "bad_signature", "the X-Twilio-Signature does not match")
    if request.method == "GET":
        params = dict(request.query_params)
    return params
