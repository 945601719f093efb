"""Alembic migrations of the results store, run by :func:`hamacho_core.store.open_store` on every open."""
