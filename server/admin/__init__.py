"""The admin HTTP API, one module per area: org units, accounts, devices, machine tokens,
the audit log and webhooks."""

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
