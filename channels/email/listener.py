"""The inbound SMTP listener (aiosmtpd), running in the service's own event loop.

It accepts mail for the support addresses only (550 for any other recipient), advertises a SIZE limit
and answers 552 above it, and says 250 only after the mail is committed; when storing fails it answers
451 so the sending server tries again later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)

Store = Callable[[bytes], Awaitable[str]]


class Handler:
    def __init__(self, addresses: set[str], store: Store) -> None:
        self.addresses = {a.lower() for a in addresses}
        self.store = store

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() not in self.addresses:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or (
            envelope.content if isinstance(envelope.content, bytes) else str(envelope.content or "").encode()
        )
        try:
            ref = await self.store(raw)
        except Exception:
            log.exception("storing inbound mail failed; the sender will retry")
            return "451 4.3.0 temporary failure, try again later"
        return f"250 OK {ref}"


async def start(host: str, port: int, addresses: set[str], store: Store, max_bytes: int) -> asyncio.Server:
    handler = Handler(addresses, store)
    loop = asyncio.get_running_loop()

    def factory() -> Any:
        return SMTP(
            handler,
            data_size_limit=max_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname="switchboard",
            ident="Switchboard ESMTP",
        )

    return await loop.create_server(factory, host=host, port=port)
