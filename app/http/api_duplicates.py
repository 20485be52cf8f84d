"""REST: likely duplicate customers (with the finder's reasons), and undoing a merge."""

from __future__ import annotations

from starlette.routing import Route

routes: list[Route] = []
