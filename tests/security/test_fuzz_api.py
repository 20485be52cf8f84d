"""Fuzzing the HTTP API from its own /openapi.json with schemathesis, against a live server (SQLite): as an
admin and as no one, valid and invalid input. Never a 5xx; every response conforms to what the schema
declares (content type, body schema, headers); every error has the contract's shape
`{"error": {"code", "message"}}`; as no one, nothing but the public operations answers anything but 401.

The server runs in a thread with its own event loop: schemathesis calls are synchronous."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
)

from tests.support import make_settings, running

# schemathesis's own strategies draw from the `random` module (schemathesis/generation/dictionaries.py,
# specs/openapi/_hypothesis.py); hypothesis notices it now and then and warns. Not our code, not our bug.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies:hypothesis.errors.HypothesisDeprecationWarning"
)
ADMIN = ("root@example.com", "pw-secret-123")
EXAMPLES = {GenerationMode.POSITIVE: 30, GenerationMode.NEGATIVE: 10}
ANON_EXAMPLES = 5
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    response_headers_conformance,
]
# operations that answer without a token (declared `security: []`)
PUBLIC = {
    ("POST", "/api/auth/token"),
    ("GET", "/healthz"),
    # the satisfaction survey: its token (from the link the customer got) is the key, so no one gets 404
    ("GET", "/api/csat/{token}"),
    ("POST", "/api/csat/{token}"),
}
# the admin run skips logging itself out (its token would be revoked for the rest of the run)
SKIP_AS_ADMIN = {("POST", "/api/auth/logout")}


@schemathesis.serializer("message/rfc822", "text/csv")
def raw_text(_ctx: Any, value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogatepass")


@dataclass
class Live:
    base: str
    token: str
    stop: Callable[[], None] = field(repr=False)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A server with some data to find: an admin, a chat ticket, an email ticket, an FAQ entry."""
    url = f"sqlite+aiosqlite:///{Path(tmp_path_factory.mktemp('fuzzapi'))}/switchboard.db"
    started: dict[str, Any] = {}
    ready = threading.Event()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        try:
            async with running(make_settings(url)) as server:
                await server.add_agent(*ADMIN[:1], "Root", password=ADMIN[1], role="admin")
                await server.add_agent("ana@example.com", "Ana")
                await server.import_faq()
                token, _ = await server.token(ADMIN[0], ADMIN[1])
                visitor, _ = await server.widget(name="Vera")
                await visitor.send({"type": "message", "text": "hello", "client_id": "c1"})
                assert await visitor.wait_for(lambda f: f.get("type") == "ack")
                async with server.client(token) as api:
                    mail = (
                        b"From: a@example.org\r\nSubject: hi\r\nMessage-ID: <f1@example.org>\r\n\r\nhello\r\n"
                    )
                    r = await api.post(
                        "/api/email/inbound", content=mail, headers={"Content-Type": "message/rfc822"}
                    )
                    assert r.status_code == 201, r.text
                started.update(
                    base=server.base, token=token, stop=lambda: loop.call_soon_threadsafe(stop.set)
                )
                ready.set()
                await stop.wait()
                await visitor.close()
        except BaseException as e:
            started["error"] = e
            ready.set()
            raise

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(60), "the server did not start"
    if "error" in started:
        raise started["error"]
    try:
        yield Live(started["base"], started["token"], started["stop"])
    finally:
        started["stop"]()
        thread.join(20)


def error_shape(response: httpx.Response | Any) -> str | None:
    """The contract: an error is JSON {"error": {"code", "message"}} (with a 4xx status)."""
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} with a body that is not JSON: {response.text[:200]!r}"
    err = body.get("error") if isinstance(body, dict) else None
    if (
        not isinstance(err, dict)
        or not isinstance(err.get("code"), str)
        or not isinstance(err.get("message"), str)
    ):
        return f"{response.status_code} without the error shape: {body!r:.200}"
    return None


def declare_path_parameters(document: dict[str, Any]) -> dict[str, Any]:
    """The document does not declare its path parameters (Starlette's SchemaGenerator leaves them out):
    declare them here, as small ids that exist, so the fuzzer reaches past the id check."""
    for path, operations in document["paths"].items():
        names = re.findall(r"{(\w+)}", path)
        for operation in operations.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}
            for name in names:
                if name in declared:
                    continue
                schema = (
                    {"type": "string", "pattern": "^[0-9a-f]{32}$"}
                    if name == "attachment_id"
                    else {"type": "integer", "minimum": 1, "maximum": 4}
                )
                param = {"name": name, "in": "path", "required": True, "schema": schema}
                operation.setdefault("parameters", []).append(param)
    return document


def fuzz_operation(operation: Any, mode: GenerationMode, n: int, token: str | None) -> list[str]:
    """n examples of one operation; its failures (at most 3), each with a curl command to reproduce it."""
    key = (operation.method.upper(), operation.path)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    found: list[str] = []

    @settings(
        max_examples=n,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        if len(found) >= 3:
            return
        response = case.call(headers=headers, timeout=20)
        curl = case.as_curl_command(headers=headers)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except AssertionError as e:
            found.append(f"{key} {str(e)[:600]}\n  {curl}")
            return
        if problem := error_shape(response):
            found.append(f"{key} {problem}\n  {curl}")
        elif token is None and key not in PUBLIC and response.status_code != 401:
            found.append(f"{key} answered {response.status_code} to no one\n  {curl}")

    try:
        run()
    except Unsatisfiable:
        # no invalid request can be written for an operation without parameters or body
        assert mode == GenerationMode.NEGATIVE, key
    return found


def fuzz(live: Live, token: str | None, examples: dict[GenerationMode, int]) -> list[str]:
    """Every operation of the schema, in each generation mode."""
    with httpx.Client() as c:
        document = c.get(live.base + "/openapi.json").json()
    schema = schemathesis.openapi.from_dict(declare_path_parameters(document))
    schema.config.update(base_url=live.base)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if token and (operation.method.upper(), operation.path) in SKIP_AS_ADMIN:
            continue
        for mode, n in examples.items():
            failures += fuzz_operation(operation, mode, n, token)
    return failures


def test_fuzz_as_admin(live: Live) -> None:
    failures = fuzz(live, live.token, EXAMPLES)
    assert not failures, "\n".join(failures)


def test_fuzz_as_no_one(live: Live) -> None:
    failures = fuzz(
        live, None, {GenerationMode.POSITIVE: ANON_EXAMPLES, GenerationMode.NEGATIVE: ANON_EXAMPLES}
    )
    assert not failures, "\n".join(failures)
