"""``hamacho serve``: the REST API (FastAPI) over the app's workspace.

Public surface::

    from hamacho_core.api import ApiSettings, create_app
    app = create_app(workspace, api_key, limits)   # an ASGI app for uvicorn or TestClient

FastAPI is imported here, so import this package only where the API is used (the CLI imports it inside ``serve``).
"""

from hamacho_core.api.app import create_app
from hamacho_core.api.settings import ApiLimits, ApiSettings, check_bind_address

__all__ = ["ApiLimits", "ApiSettings", "check_bind_address", "create_app"]
