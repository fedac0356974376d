import pytest


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect API for the whole session (starting one costs several seconds)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(params=["sqlite", "postgres"])
def storage_settings(request, tmp_path, storage_factory):
    """Flow tests run on SQLite and on PostgreSQL (skipped when no server is configured)."""
    with storage_factory(request.param, tmp_path) as settings:
        yield settings
