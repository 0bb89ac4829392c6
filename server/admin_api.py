"""Admin HTTP API (org tree, accounts, devices, machine tokens, audit log): server/admin/."""

from litestar.handlers import HTTPRouteHandler

from server.admin import accounts, audit, devices, tokens, units

ROUTES: list[HTTPRouteHandler] = [
    *units.ROUTES,
    *accounts.ROUTES,
    *devices.ROUTES,
    *tokens.ROUTES,
    *audit.ROUTES,
]
