"""Many rows through one statement, with the values the rows share converted once.

`Connection.execute(stmt, [dict, ...])` converts every value of every row through its type (a datetime to
SQLite's text, a dict to JSON) and builds the positional parameters row by row: for the group-commit
writers, where fifty rows share their timestamp, author, channel and empty JSON, that bookkeeping cost more
than SQLite's own work. `Many` compiles its statement once per dialect, converts the shared values once
per call, passes the rows' own values (checked at compile time to need no conversion, or else converted)
straight to the driver's executemany, and is the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import ValuesBase


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # where each positional parameter comes from: a row's index, or the name of a shared value
    slots: tuple[int | str, ...]
    processors: dict[str, Callable[[Any], Any]]  # by name, for the values that need converting
    row_processors: tuple[Callable[[Any], Any] | None, ...] | None  # per row value; None: none needs any


class Many:
    """An INSERT or UPDATE run for many rows; the rows give values for `per_row` (in that order), the call
    gives the values every row shares."""

    def __init__(self, stmt: ValuesBase, shared: Sequence[str], per_row: Sequence[str]) -> None:
        self.stmt = stmt
        self.shared = tuple(shared)
        self.per_row = tuple(per_row)
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            c = self.stmt.compile(dialect=dialect, column_keys=[*self.shared, *self.per_row])
            order = tuple(c.positiontup or ())
            names = set(self.shared) | set(self.per_row)
            if not c.positional or set(order) != names or len(order) != len(names):
                raise ValueError(f"{self.stmt} does not bind exactly {sorted(names)}, each once")
            processors: dict[str, Callable[[Any], Any]] = {}
            for name in order:
                process = c.binds[name].type._cached_bind_processor(dialect)
                if process is not None:
                    processors[name] = process
            slots = tuple(self.per_row.index(name) if name in self.per_row else name for name in order)
            row_processors = tuple(processors.get(name) for name in self.per_row)
            compiled = self._compiled[dialect.name] = _Compiled(
                c.string, slots, processors, row_processors if any(row_processors) else None
            )
        return compiled

    def __call__(self, c: Connection, shared: Mapping[str, Any], rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        compiled = self._for(c.dialect)
        process = compiled.processors
        values = {k: process[k](v) if k in process else v for k, v in shared.items()}
        if values.keys() != set(self.shared):
            raise ValueError(f"shared values for {sorted(self.shared)}, got {sorted(values)}")
        if compiled.row_processors is not None:
            rows = [
                tuple(p(v) if p else v for p, v in zip(compiled.row_processors, row, strict=True))
                for row in rows
            ]
        plan = [(slot, None) if isinstance(slot, int) else (-1, values[slot]) for slot in compiled.slots]
        params = [tuple(row[i] if i >= 0 else value for i, value in plan) for row in rows]
        c.exec_driver_sql(compiled.sql, params)
