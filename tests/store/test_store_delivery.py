"""The results store as delivered: the compose `db` profile, the Makefile's PostgreSQL install step, the migrations
inside the package."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_db_profile_is_optional_and_used_by_the_app_and_the_api() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]
    assert services["db"]["profiles"] == ["db"] and "pg_isready" in services["db"]["healthcheck"]["test"]
    assert "profiles" not in services["hamacho"]
    for name in ("hamacho", "api"):
        assert "HAMACHO_DATABASE_URL" in services[name]["environment"]


def test_make_test_installs_postgresql_like_the_browser() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "POSTGRES_PACKAGES := postgresql" in makefile and "test: venv browser postgres" in makefile


def test_the_migrations_ship_inside_the_package() -> None:
    migrations = ROOT / "hamacho_core" / "store" / "migrations"
    assert (migrations / "env.py").is_file() and (migrations / "__init__.py").is_file()
    assert list((migrations / "versions").glob("0001_*.py")) and (migrations / "versions" / "__init__.py").is_file()


def test_the_api_result_schema_names_every_stored_field() -> None:
    """The API's RecordedResult mirrors the store's StoredResult (stricter types for the OpenAPI schema): a column
    added to one and not the other fails here, not at a client's request."""
    from dataclasses import fields

    from hamacho_core.api.store_schemas import RecordedResult
    from hamacho_core.store import StoredResult

    stored = {f.name for f in fields(StoredResult)} - {"picture_path", "map_path"}  # served as picture_kept / map_kept
    assert set(RecordedResult.model_fields) - {"picture_kept", "map_kept"} == stored
