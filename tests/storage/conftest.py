import pytest


@pytest.fixture(params=["sqlite", "postgres"])
def storage_settings(request, tmp_path, storage_factory):
    """Storage tests run on SQLite and on PostgreSQL (skipped when no server is configured)."""
    with storage_factory(request.param, tmp_path) as settings:
        yield settings
