"""The kernel every domain package may use. It imports no domain package."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from flask import Flask
from flask_migrate import Migrate
from werkzeug.routing import IntegerConverter

from core import (
    assets,
    errors,
    i18n,
    jobs,
    navigation,
    openapi,
    pagecache,
    replica,
    sample_data,
    security,
    sessions,
    statistics,
)
from core.config import load_config
from core.db import (
    alembic_compare_type,
    alembic_include_object,
    alembic_render_item,
    db,
    release_sessions_at_teardown,
    retry_after_disconnect,
)


class DatabaseIntConverter(IntegerConverter):
    """`<int:id>` that never exceeds a database integer: huge ids are a 404, not an overflow."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


PROJECT_ROOT = Path(__file__).resolve().parent.parent
migrate = Migrate()


def build_app(domains: Iterable[ModuleType], overrides: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        "choque",
        root_path=str(PROJECT_ROOT),
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder="templates",
        static_folder="static",
    )
    app.config.update(load_config(Path(app.instance_path), overrides))
    app.url_map.converters["int"] = DatabaseIntConverter
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Vietnamese stays readable
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(PROJECT_ROOT / "translations")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    db.init_app(app)
    release_sessions_at_teardown(app)
    retry_after_disconnect(app)
    migrate.init_app(
        app,
        db,
        directory=str(PROJECT_ROOT / "migrations"),
        render_as_batch=True,
        compare_type=alembic_compare_type,
        render_item=alembic_render_item,
        include_object=alembic_include_object,
    )
    sessions.init_app(app)
    security.init_app(app)
    assets.init_app(app)
    i18n.init_app(app)
    pagecache.init_app(app)
    replica.init_app(app)
    errors.init_app(app)
    openapi.init_app(app)
    navigation.init_app(app)
    sample_data.init_app(app)
    statistics.init_app(app)
    jobs.init_app(app)

    app.jinja_env.globals["has_endpoint"] = lambda name: name in app.view_functions

    from core import views

    app.register_blueprint(views.bp)
    views.init_cli(app)
    for domain in domains:
        domain.init_app(app)
    security.check_limits_in_views_only(app)
    return app
