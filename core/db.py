"""The database handle, typed declarative base, naming convention and SQLite pragmas."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import DateTime, MetaData, event, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use core.db.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


READ_FROM = "choque_read_from"  # session.info: the engine this request reads from


class RoutingSession(FlaskSession):
    """Reads go to the engine the request chose (core/replica.py: a read replica for anonymous
    public pages); a flush and any INSERT/UPDATE/DELETE always go to the primary."""

    def get_bind(
        self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any
    ) -> Any:
        reads = self.info.get(READ_FROM)
        writes = self._flushing or isinstance(clause, UpdateBase)
        if reads is not None and bind is None and not writes:
            return reads
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def release_session(exception: BaseException | None = None) -> None:
    """End of request: close the session; if its connection died (database restarted, network
    cut) invalidate it instead of rolling back on it, so the teardown never fails the request;
    then forget it (what Flask-SQLAlchemy's own teardown, which this one replaces, did).
    A request that never used the database has no session: asking `db.session` would build one
    only to close it (≈ 15% of a request that needs no database)."""
    if not db.session.registry.has():
        return
    try:
        db.session.close()
    except DBAPIError:
        db.session().invalidate()  # the Session itself: scoped_session does not proxy it
    finally:
        db.session.registry.clear()


def release_sessions_at_teardown(app: Any) -> None:
    """`release_session` as the one teardown of the session, in place of Flask-SQLAlchemy's."""
    teardowns = app.teardown_appcontext_funcs
    teardowns[:] = [f for f in teardowns if f != db._teardown_session]
    app.teardown_appcontext(release_session)


def retry_after_disconnect(app: Any) -> None:
    """Run a GET/HEAD view once more when the database connection it used turned out dead
    (the server restarted, an idle connection was cut): SQLAlchemy has thrown the pool's old
    connections away by then. Replaces a ping before every checkout."""
    from flask import g, request
    from sqlalchemy.exc import DBAPIError

    dispatch = app.dispatch_request

    def dispatch_request() -> Any:
        try:
            return dispatch()
        except DBAPIError as error:
            if (
                not error.connection_invalidated
                or request.method not in ("GET", "HEAD")
                or g.get("_retried_after_disconnect")
            ):
                raise
            g._retried_after_disconnect = True
            db.session.rollback()
            return dispatch()

    app.dispatch_request = dispatch_request


def is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def upsert(target: Any, dialect_name: str | None = None) -> Any:
    """An INSERT that can say what to do on a conflict (`.on_conflict_do_nothing(…)`,
    `.on_conflict_do_update(…)`), in the dialect of the database in use: PostgreSQL's and
    SQLite's spell it the same."""
    name = dialect_name or db.engine.dialect.name
    return (postgresql if name == "postgresql" else sqlite).insert(target)


def among(column: Any, ids: list[int]) -> Any:
    """`column IN ids` for sorted ids, as a range when they are dense (a page of a keyset walk):
    one index range scan and no 500-parameter statement to compile; the caller drops the rows
    in between that it did not ask for."""
    if ids[-1] - ids[0] < 2 * len(ids):
        return column.between(ids[0], ids[-1])
    return column.in_(ids)


def lock_row(model: Any, row_id: int, *, touch: Any = None) -> Any:
    """The row `model.id == row_id` freshly read and locked until the unit of work ends, or
    None. PostgreSQL: SELECT … FOR UPDATE. SQLite has no row locks and ignores FOR UPDATE: give
    `touch` (a column) and a no-op UPDATE of it first takes the database's write lock, so a
    second writer waits there instead of reading the row beside the first."""
    if touch is not None and is_sqlite():
        db.session.execute(
            update(model)
            .where(model.id == row_id)
            .values({touch.key: touch})
            .execution_options(synchronize_session=False)
        )
    return db.session.scalar(
        select(model)
        .where(model.id == row_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def alembic_render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Migrations spell UTCDateTime as the plain timezone-aware DateTime it stores."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def alembic_include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Full-text virtual tables (SQLite FTS5, `*_fts` and their `*_fts_*` shadow tables) are
    written by hand in migrations; autogenerate neither creates nor drops them."""
    return not (type_ == "table" and name and ("_fts_" in name or name.endswith("_fts")))


def alembic_compare_type(
    context: Any,
    inspected_column: Any,
    metadata_column: Any,
    inspected_type: Any,
    metadata_type: Any,
) -> bool | None:
    if isinstance(metadata_type, UTCDateTime):
        return not isinstance(inspected_type, DateTime)
    return None  # Alembic's default comparison


# --- One unit of work per request, command or job ---------------------------------------------

_AFTER_COMMIT = "choque_after_commit"
_AFTER_ROLLBACK = "choque_after_rollback"
_DEPTH = "choque_uow_depth"


def after_commit(callback: Callable[[], Any]) -> None:
    """Run `callback` once the current unit of work has committed; forgotten on rollback.

    For side effects that must not happen for a transaction that never lands: deleting replaced
    files, cache purges, outgoing webhooks, calls to payment providers.
    """
    db.session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def after_rollback(callback: Callable[[], Any]) -> None:
    """Run `callback` if the current unit of work rolls back; forgotten on commit.

    For undoing what a transaction cannot: files stored for rows that never land.
    """
    db.session.info.setdefault(_AFTER_ROLLBACK, []).append(callback)


@contextmanager
def unit_of_work(
    *, commit_on: type[BaseException] | tuple[type[BaseException], ...] = ()
) -> Iterator[Any]:
    """The one place that commits: commit once on success, roll back on any error.

    Nested uses join the outermost one (only it commits). Works as a decorator too
    (`@unit_of_work()` on a CLI command or job). Views wrap the service call:

        try:
            with unit_of_work():
                product = create_product(...)
        except Invalid as error:
            ...re-render the form (nothing was written)

    `commit_on` names errors whose work must still land before they propagate: a rejected
    one-time code whose counted attempt must stick, a scan counted before a bad PIN.
    """
    session = db.session
    depth = session.info.get(_DEPTH, 0)
    session.info[_DEPTH] = depth + 1
    try:
        yield session
        if depth == 0:
            session.commit()
    except BaseException as error:
        if depth == 0:
            if commit_on and isinstance(error, commit_on):
                session.info[_DEPTH] = depth
                _commit(session)
                raise
            _rollback(session)
        raise
    finally:
        session.info[_DEPTH] = depth
    if depth == 0:
        _run_after_commit(session)


def _commit(session: Any) -> None:
    try:
        session.commit()
    except BaseException:
        _rollback(session)
        raise
    _run_after_commit(session)


def _rollback(session: Any) -> None:
    session.rollback()
    session.info.pop(_AFTER_COMMIT, None)
    for callback in session.info.pop(_AFTER_ROLLBACK, []):
        callback()


def _run_after_commit(session: Any) -> None:
    session.info.pop(_AFTER_ROLLBACK, None)
    for callback in session.info.pop(_AFTER_COMMIT, []):
        callback()


def database_answers() -> bool:
    """SELECT 1, once more on a fresh connection if the pooled one was found dead."""
    for attempt in (1, 2):
        try:
            db.session.execute(text("SELECT 1"))
            return True
        except DBAPIError as error:
            db.session.rollback()
            if attempt == 2 or not error.connection_invalidated:
                return False
        except SQLAlchemyError:
            return False
    return False
