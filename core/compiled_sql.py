"""Pre-compiled statements for the hottest paths (the scan page): a Core statement compiled once
per dialect and run on the DBAPI cursor of the session's connection.

Compiling and caching a statement with twenty sub-queries costs SQLAlchemy more per request than
the database takes to run it. Here the SQL text, bind processors and result processors are
computed once; each run binds the values and converts the row, in the session's transaction
(the caller's unit of work commits).
"""

from __future__ import annotations

from collections.abc import Callable
from threading import Lock
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

from core.db import db


class CompiledStatement:
    """One statement compiled for one dialect (parameters bound by the driver, converted by
    the statement's own bind and result processors)."""

    def __init__(self, statement: Any, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.names = tuple(compiled.positiontup or ()) if compiled.positional else None
        self.processors = dict(compiled._bind_processors)
        constants = compiled.construct_params(_check=False)
        self.constants = {
            name: self.processors[name](value) if name in self.processors else value
            for name, value in constants.items()
            if value is not None
        }
        self.results = tuple(
            column[3]._cached_result_processor(dialect, None) for column in compiled._result_columns
        )

    def parameters(self, values: dict[str, Any]) -> dict[str, Any] | tuple[Any, ...]:
        """The driver's parameters for these values (converted by their bind processors)."""
        params = dict(self.constants)
        processors = self.processors
        for name, value in values.items():
            processor = processors.get(name)
            params[name] = processor(value) if processor is not None else value
        if self.names is not None:
            return tuple([params[name] for name in self.names])
        return params

    def execute(self, cursor: Any, values: dict[str, Any]) -> Any:
        cursor.execute(self.sql, self.parameters(values))

    def convert(self, row: Any) -> tuple[Any, ...] | None:
        """A driver's row as the statement's result types give it."""
        if row is None:
            return None
        return tuple(
            value if process is None else process(value)
            for process, value in zip(self.results, row, strict=True)
        )

    def row(self, cursor: Any) -> tuple[Any, ...] | None:
        return self.convert(cursor.fetchone())


_COMPILED: WeakKeyDictionary[Any, dict[str, CompiledStatement]] = WeakKeyDictionary()
_LOCK = Lock()


class SessionCursor(NamedTuple):
    dialect: Any
    cursor: Any


def session_cursor() -> SessionCursor:
    """A DBAPI cursor of the session's connection (its transaction begun if need be); the
    caller closes it."""
    connection = db.session.connection()
    return SessionCursor(connection.dialect, connection.connection.cursor())


def compiled(dialect: Any, name: str, build: Callable[[], Any]) -> CompiledStatement:
    """The statement `name` (built by `build()` the first time) compiled once for this dialect."""
    statements = _COMPILED.get(dialect)
    statement = statements.get(name) if statements is not None else None
    if statement is None:
        statement = CompiledStatement(build(), dialect)
        with _LOCK:
            _COMPILED.setdefault(dialect, {})[name] = statement
    return statement
