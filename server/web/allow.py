"""`Allow` on OPTIONS answers: every method the path takes.

Litestar makes a path's OPTIONS handler when the first handler of the path is registered
and keeps it as more are added, so its `Allow` names the first one's methods only (a 405's
`Allow` is right: it comes from the routing table). This hook rewrites it from the routes.
"""

from litestar.datastructures import MutableScopeHeaders
from litestar.routes import HTTPRoute
from litestar.types import Message, Scope


def methods_of(scope: Scope) -> str | None:
    template = scope.get("path_template")
    for route in scope["litestar_app"].routes:
        if isinstance(route, HTTPRoute) and route.path_format == template:
            return ", ".join(sorted(route.methods))
    return None


async def allow_every_method(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
        return
    headers = MutableScopeHeaders.from_message(message)
    if "allow" in headers and (methods := methods_of(scope)) is not None:
        headers["Allow"] = methods
