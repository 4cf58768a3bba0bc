"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from webapp import create_app
from webapp.config import from_environ
from webapp.extensions import db


def _migrated_app(url: str):
    return create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})


def _assert_matches_models(app) -> None:
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        downgrade(revision="base")
        db.engine.dispose()


def test_migrations_match_models_on_sqlite(tmp_path):
    _assert_matches_models(_migrated_app(f"sqlite:///{tmp_path / 'migrated.sqlite3'}"))


@pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="DATABASE_URL not set")
def test_migrations_match_models_on_postgresql():
    url = make_url(from_environ()["SQLALCHEMY_DATABASE_URI"])
    name = f"apo_migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _assert_matches_models(_migrated_app(url.set(database=name).render_as_string(False)))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}"'))
        admin.dispose()
