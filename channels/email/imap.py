"""IMAP polling, the alternative to the SMTP listener: fetch new mail from one mailbox and store it.

Where we are is a cursor `"UIDVALIDITY:LASTUID"` that the caller persists. Each round connects, SELECTs
the mailbox and fetches the messages whose UID is above the cursor, oldest first and at most `batch` of
them. Each one is fetched whole (BODY.PEEK[], which leaves it unread) and handed to `store`; only when
`store` has returned (the mail is committed) is it marked on the server (flagged \\Seen, or moved to the
`?move=` mailbox) and the cursor saved past it. When `store` fails the round stops there: that message stays
unmarked, the cursor does not pass it, and the next round takes it again. A changed UIDVALIDITY (the
mailbox was recreated) starts over from the first message, which is harmless: the store keeps one copy
per Message-ID.

URL: `imap://user:password@host:port/MAILBOX` or `imaps://...` (TLS, certificate verified); user,
password and mailbox percent-encoded; the mailbox defaults to INBOX; `?move=Processed` moves each stored
message to that mailbox (created when missing) instead of flagging it \\Seen. A message above `max_bytes`
is not fetched: it is logged, left on the server unmarked, and passed by the cursor.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aioimaplib

log = logging.getLogger(__name__)

Store = Callable[[bytes], Awaitable[object]]
LoadCursor = Callable[[], Awaitable[str | None]]
SaveCursor = Callable[[str], Awaitable[None]]

_FETCH_START = re.compile(rb"^\d+ FETCH \(")
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")


class ImapError(Exception):
    """The IMAP server could not be reached, timed out, or refused a command."""


class StoreFailed(Exception):
    """Storing a fetched message failed (the cause is chained); it stays unmarked and is fetched again."""

    def __init__(self, uid: int) -> None:
        super().__init__(f"storing the message with UID {uid} failed; it stays on the server, unmarked")
        self.uid = uid


@dataclass(frozen=True)
class ImapSource:
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    mailbox: str = "INBOX"
    tls: bool = False
    move_to: str | None = None

    @classmethod
    def parse(cls, url: str) -> ImapSource:
        """`imap[s]://user:password@host[:port][/MAILBOX][?move=MAILBOX]`; ValueError when malformed."""
        parts = urlsplit(url.strip())
        if parts.scheme not in ("imap", "imaps"):
            raise ValueError("an IMAP URL starts with imap:// or imaps://")
        if not parts.hostname:
            raise ValueError("the IMAP URL names no host")
        if not parts.username or parts.password is None:
            raise ValueError("the IMAP URL needs a user and a password: imap://user:password@host/")
        try:
            port = parts.port
        except ValueError as e:
            raise ValueError(f"the IMAP URL has a bad port: {e}") from e
        query = parse_qs(parts.query, keep_blank_values=True)
        unknown = set(query) - {"move"}
        if unknown:
            raise ValueError(f"unknown IMAP URL option(s): {', '.join(sorted(unknown))} (known: move)")
        move = query.get("move", [None])[-1]
        if move is not None and not move.strip():
            raise ValueError("?move= needs a mailbox name")
        mailbox = unquote(parts.path.lstrip("/")) or "INBOX"
        tls = parts.scheme == "imaps"
        return cls(
            host=parts.hostname,
            port=port or (993 if tls else 143),
            user=unquote(parts.username),
            password=unquote(parts.password),
            mailbox=mailbox,
            tls=tls,
            move_to=move.strip() if move is not None else None,
        )

    def __str__(self) -> str:  # for logs: never the password
        scheme = "imaps" if self.tls else "imap"
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{self.mailbox}"


def mailbox_arg(name: str) -> str:
    """A mailbox name as an IMAP argument: modified UTF-7 (RFC 3501 5.1.3), quoted."""
    out: list[str] = []
    wide: list[str] = []

    def flush() -> None:
        if wide:
            b64 = base64.b64encode("".join(wide).encode("utf-16-be")).decode("ascii")
            out.append("&" + b64.rstrip("=").replace("/", ",") + "-")
            wide.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            wide.append(ch)
    flush()
    text = "".join(out)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_cursor(cursor: str | None) -> tuple[int, int] | None:
    """`"UIDVALIDITY:LASTUID"` -> (uidvalidity, last_uid); None when absent or unreadable."""
    if not cursor:
        return None
    validity, sep, last = cursor.partition(":")
    if not sep or not validity.isdigit() or not last.isdigit():
        log.warning("ignoring an unreadable IMAP cursor %r: starting from the first message", cursor)
        return None
    return int(validity), int(last)


def _fetch_groups(lines: list[Any]) -> list[tuple[bytes, list[bytearray]]]:
    """Split a FETCH response into (text of one message's data, its literals)."""
    groups: list[tuple[bytes, list[bytearray]]] = []
    text: list[bytes] = []
    literals: list[bytearray] = []
    started = False
    for line in lines:
        if isinstance(line, bytearray):
            literals.append(line)
            continue
        if _FETCH_START.match(line):
            if started:
                groups.append((b" ".join(text), literals))
            text, literals, started = [line], [], True
        else:
            text.append(line)
    if started:
        groups.append((b" ".join(text), literals))
    return groups


class ImapPoller:
    def __init__(
        self,
        source: ImapSource,
        store: Store,
        load_cursor: LoadCursor,
        save_cursor: SaveCursor,
        interval_s: float = 30.0,
        *,
        batch: int = 200,
        max_bytes: int = 25 * 1024 * 1024,
        timeout_s: float = 30.0,
        max_backoff_s: float = 600.0,
    ) -> None:
        self.source = source
        self.store = store
        self.load_cursor = load_cursor
        self.save_cursor = save_cursor
        self.interval_s = interval_s
        self.batch = batch
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.max_backoff_s = max(max_backoff_s, interval_s)
        self._move_target_ready = False

    async def run(self) -> None:
        """Poll every `interval_s` until cancelled; a failed round is logged and retried with a backoff
        (doubling, at most `max_backoff_s`); a full round is followed by the next one at once."""
        failures = 0
        while True:
            try:
                stored = await self.poll_once()
            except Exception as e:
                failures += 1
                delay = min(self.interval_s * 2 ** min(failures - 1, 16), self.max_backoff_s)
                cause = e.__cause__ if isinstance(e, StoreFailed) and e.__cause__ else e
                log.warning(
                    "IMAP polling of %s failed: %s; trying again in %.1f s",
                    self.source,
                    e if cause is e else f"{e} ({type(cause).__name__}: {cause})",
                    delay,
                    exc_info=not isinstance(e, ImapError),  # a failed store: show where
                )
            else:
                failures = 0
                delay = 0.0 if stored >= self.batch else self.interval_s
                if stored:
                    log.info("IMAP: stored %d message(s) from %s", stored, self.source)
            await asyncio.sleep(delay)

    async def poll_once(self) -> int:
        """One round: store the new messages, mark each on the server, save the cursor past it. Returns how
        many were stored. Raises ImapError when the server fails or refuses, StoreFailed when `store` raises
        (the messages before it are stored, marked and behind the cursor); an error of `load_cursor` or
        `save_cursor` propagates as it is."""
        client = await self._connect()
        try:
            return await self._round(client)
        finally:
            await self._close(client)

    async def _imap(self, what: str, call: Awaitable[Any], limit_s: float | None = None) -> Any:
        """One IMAP command: within a time limit (aioimaplib bounds only some commands itself), its failures
        (network, timeout, a NO or BAD answer) as ImapError."""
        try:
            response = await asyncio.wait_for(call, limit_s or self.timeout_s)
        except (TimeoutError, OSError, aioimaplib.AioImapException) as e:
            raise ImapError(f"{what}: {type(e).__name__}: {e}".rstrip(": ")) from e
        if response.result != "OK":
            text = b" ".join(bytes(x) for x in response.lines if isinstance(x, bytes | bytearray))
            raise ImapError(f"{what}: {response.result} {text[:300].decode('utf-8', 'replace')}")
        return response

    async def _uid(self, client: Any, command: str, *args: str, limit_s: float | None = None) -> Any:
        return await self._imap(f"UID {command.upper()} {args[0]}", client.uid(command, *args), limit_s)

    async def _connect(self) -> Any:
        src = self.source
        try:
            if src.tls:
                client: Any = aioimaplib.IMAP4_SSL(
                    src.host, src.port, timeout=self.timeout_s, ssl_context=ssl.create_default_context()
                )
            else:
                client = aioimaplib.IMAP4(src.host, src.port, timeout=self.timeout_s)
        except (OSError, aioimaplib.AioImapException) as e:
            raise ImapError(f"cannot connect: {e}") from e
        try:
            try:
                await asyncio.wait_for(client.wait_hello_from_server(), self.timeout_s)
            except (TimeoutError, OSError, aioimaplib.AioImapException) as e:
                raise ImapError(f"cannot connect: {type(e).__name__}: {e}".rstrip(": ")) from e
            await self._imap("LOGIN", client.login(aioimaplib.quoted(src.user), src.password))
            # the capabilities after login (MOVE, UIDPLUS), whether or not LOGIN's answer listed them
            await asyncio.wait_for(client.protocol.capability(), self.timeout_s)
        except BaseException as e:
            await self._close(client)
            if isinstance(e, TimeoutError | OSError | aioimaplib.AioImapException):
                raise ImapError(f"CAPABILITY: {type(e).__name__}: {e}".rstrip(": ")) from e
            raise
        return client

    async def _close(self, client: Any) -> None:
        protocol = client.protocol
        try:
            if protocol.state in (aioimaplib.AUTH, aioimaplib.SELECTED):
                await asyncio.wait_for(client.logout(), min(self.timeout_s, 5.0))
        except Exception as e:  # the round's outcome is decided; a failed goodbye changes nothing
            log.debug("IMAP logout from %s failed: %s", self.source, e)
        finally:
            if protocol.transport is not None:
                protocol.transport.close()
            if not client._client_task.done():
                client._client_task.cancel()

    async def _round(self, client: Any) -> int:
        src = self.source
        selected = await self._imap(f"SELECT {src.mailbox}", client.select(mailbox_arg(src.mailbox)))
        validity = next(
            (int(m.group(1)) for line in selected.lines if (m := _UIDVALIDITY.search(bytes(line)))), None
        )
        if validity is None:
            raise ImapError(f"SELECT {src.mailbox}: the server gave no UIDVALIDITY")
        cursor = parse_cursor(await self.load_cursor())
        last = 0
        if cursor is not None and cursor[0] == validity:
            last = cursor[1]
        elif cursor is not None:
            log.warning(
                "IMAP mailbox %s has a new UIDVALIDITY (%s, was %s): fetching it again from the start",
                src,
                validity,
                cursor[0],
            )
            await self.save_cursor(f"{validity}:0")

        found = await self._imap("UID SEARCH", client.uid_search("UID", f"{last + 1}:*", charset=None))
        uids = sorted({int(tok) for line in found.lines[:-1] for tok in bytes(line).split() if tok.isdigit()})
        uids = [u for u in uids if u > last][: self.batch]  # `n:*` names the last message even when n > it
        if not uids:
            return 0
        sizes = await self._sizes(client, uids)
        if src.move_to is not None:
            await self._ensure_move_target(client, src.move_to)
        stored = 0
        for uid in uids:
            size = sizes.get(uid)
            raw = None if size is None or size > self.max_bytes else await self._fetch(client, uid)
            if size is not None and size > self.max_bytes:
                log.error(
                    "IMAP message UID %s of %s is %d bytes, above the limit of %d: left on the server, "
                    "unmarked, and skipped",
                    uid,
                    src,
                    size,
                    self.max_bytes,
                )
            elif raw is None:
                log.info("IMAP message UID %s of %s is gone (expunged meanwhile); skipping it", uid, src)
            else:
                try:
                    await self.store(raw)
                except Exception as e:
                    raise StoreFailed(uid) from e
                stored += 1
                await self._mark(client, uid)
            await self.save_cursor(f"{validity}:{uid}")
        return stored

    async def _sizes(self, client: Any, uids: list[int]) -> dict[int, int]:
        response = await self._uid(client, "fetch", f"{uids[0]}:{uids[-1]}", "(UID RFC822.SIZE)")
        sizes: dict[int, int] = {}
        for text, _ in _fetch_groups(response.lines):
            uid, size = _UID.search(text), _SIZE.search(text)
            if uid and size:
                sizes[int(uid.group(1))] = int(size.group(1))
        return sizes

    async def _fetch(self, client: Any, uid: int) -> bytes | None:
        # aioimaplib times out a fetch that stops sending for timeout_s; the whole of it gets ten times that
        response = await self._uid(
            client, "fetch", str(uid), "(UID BODY.PEEK[])", limit_s=10 * self.timeout_s
        )
        for text, literals in _fetch_groups(response.lines):
            found = _UID.search(text)
            if found and int(found.group(1)) == uid and literals and b"BODY[]" in text:
                return bytes(literals[0])
        return None

    async def _ensure_move_target(self, client: Any, target: str) -> None:
        if self._move_target_ready:
            return
        try:
            await self._imap(f"CREATE {target}", client.create(mailbox_arg(target)))
        except ImapError as e:  # RFC 5530's [ALREADYEXISTS], or a server's own words for it
            if e.__cause__ is not None or "exists" not in str(e).lower():
                raise
        self._move_target_ready = True

    async def _mark(self, client: Any, uid: int) -> None:
        target = self.source.move_to
        if target is None:
            await self._uid(client, "store", str(uid), "+FLAGS.SILENT", r"(\Seen)")
            return
        box = mailbox_arg(target)
        try:
            if client.has_capability("MOVE"):
                await self._uid(client, "move", str(uid), box)
                return
            await self._uid(client, "copy", str(uid), box)
        except ImapError:
            self._move_target_ready = False  # deleted meanwhile? the next round creates it again
            raise
        await self._uid(client, "store", str(uid), "+FLAGS.SILENT", r"(\Deleted)")
        if client.has_capability("UIDPLUS"):
            await self._uid(client, "expunge", str(uid))
        else:  # also removes what others flagged \Deleted in this mailbox: the best plain IMAP offers
            await self._imap("EXPUNGE", client.expunge())
