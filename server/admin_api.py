"""Admin HTTP API (org tree, accounts, devices, tokens, audit log, webhooks): server/admin/."""

from litestar.handlers import HTTPRouteHandler

from server.admin import accounts, audit, devices, tokens, units, webhooks

ROUTES: list[HTTPRouteHandler] = [
    *units.ROUTES,
    *accounts.ROUTES,
    *devices.ROUTES,
    *tokens.ROUTES,
    *audit.ROUTES,
    *webhooks.ROUTES,
]
