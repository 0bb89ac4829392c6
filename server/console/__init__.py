"""The coordinator console: server-rendered pages under /console (docs in README.md).

`ROUTES` go into the app's route list and `TEMPLATES` into its template config. The pages
share the API's services and session cookie; their errors are pages, not problem documents.
"""

from litestar import Router
from litestar.static_files import create_static_files_router

from server.console import dashboard, records, session
from server.console.bulk import ROUTES as BULK_ROUTES
from server.console.devices import ROUTES as DEVICE_ROUTES
from server.console.errors import HANDLERS
from server.console.exports import console_export
from server.console.households_import import ROUTES as IMPORT_ROUTES
from server.console.overdue import overdue_page
from server.console.render import HERE, TEMPLATES
from server.console.review import ROUTES as REVIEW_ROUTES
from server.console.views import ROUTES as VIEW_ROUTES

STATIC = create_static_files_router(
    path="/console/static", directories=[HERE / "static"], include_in_schema=False
)
PAGES = Router(
    path="/",
    route_handlers=[
        session.home,
        session.login_form,
        session.login,
        session.logout,
        dashboard.dashboard,
        console_export,
        records.record_list,
        records.record_page,
        *REVIEW_ROUTES,
        *DEVICE_ROUTES,
        overdue_page,
        *IMPORT_ROUTES,
        *VIEW_ROUTES,
        *BULK_ROUTES,
    ],
    exception_handlers=HANDLERS,
)
ROUTES = [PAGES, STATIC]

__all__ = ["ROUTES", "TEMPLATES"]
