"""A light HTTP/1.1 load generator for the benchmarks: requests prepared as bytes beforehand, sent over a
pool of keep-alive connections (asyncio streams), the answer read by its Content-Length. httpx spent about
as much CPU per request as the servers measured, and on a small machine could not offer 500 requests a
second; this costs a fraction of that, so the figures are the server's."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode, urlsplit


def form_post(url: str, params: dict[str, str], headers: dict[str, str]) -> bytes:
    """The bytes of an application/x-www-form-urlencoded POST to `url`."""
    form = {"Content-Type": "application/x-www-form-urlencoded", **headers}
    return raw_post(url, urlencode(params).encode(), form)


def raw_post(url: str, body: bytes, headers: dict[str, str]) -> bytes:
    """The bytes of a POST of `body` to `url`."""
    parts = urlsplit(url)
    head = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"Host: {parts.netloc}",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class Pool:
    """Keep-alive connections to one host, opened as needed (at most `size` at once)."""

    def __init__(self, url: str, size: int = 256) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots = asyncio.Semaphore(size)

    async def request(self, raw: bytes) -> int:
        """Send a prepared request; returns the status once the whole answer is read."""
        async with self._slots:
            conn = self._idle.pop() if self._idle else await asyncio.open_connection(self.host, self.port)
            reader, writer = conn
            try:
                writer.write(raw)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                    elif name.strip().lower() == b"transfer-encoding":
                        raise RuntimeError("a chunked answer: this generator reads Content-Length only")
                await reader.readexactly(length)
            except BaseException:
                writer.close()
                raise
            self._idle.append(conn)
            return status

    async def close(self) -> None:
        for _reader, writer in self._idle:
            writer.close()
        self._idle.clear()
