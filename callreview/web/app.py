"""The review and search web app: `create_app()` wires settings, templates, routes and error pages.

Nothing touches the database at import or in `create_app`: the engine is made on the first request,
from the storage settings dependency (which `create_app(storage=...)` overrides, e.g. in tests).
"""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from callreview.web import routes_admin, routes_auth, routes_calls, routes_queue, routes_search
from callreview.web.deps import get_storage, get_web
from callreview.web.errors import install_error_handlers
from callreview.web.headers import SecurityHeaders
from callreview.web.retry import RetryTransient
from callreview.web.settings import WebSettings, get_web_settings
from callreview.web.slashes import install_slash_redirects
from callreview.web.templating import make_templates
from callreview.storage.settings import StorageSettings

STATIC_DIR = Path(__file__).parent / "static"


def create_app(storage: StorageSettings | None = None, web: WebSettings | None = None) -> FastAPI:
    """Build the web app.

    Args:
        storage: where the database and archive are; default: CALLREVIEW_* environment, read on first use.
        web: sessions, cookies and time zone; default: CALLREVIEW_WEB_* environment.

    Returns:
        The FastAPI application (serve it with uvicorn, or drive it with TestClient).
    """
    web = web or get_web_settings()
    # No OpenAPI or docs pages: the app is HTML for people, not an API to discover.
    app = FastAPI(title="callreview", docs_url=None, redoc_url=None, openapi_url=None)
    if storage is not None:
        app.dependency_overrides[get_storage] = lambda: storage
    app.dependency_overrides[get_web] = lambda: web
    app.state.templates = make_templates(web)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (routes_auth, routes_queue, routes_calls, routes_search, routes_admin):
        app.include_router(module.router)
    install_slash_redirects(app)
    install_error_handlers(app)
    app.add_middleware(SecurityHeaders)
    # Outermost of the two, so a replayed request gets its headers from a fresh SecurityHeaders pass.
    app.add_middleware(RetryTransient)
    return app
