"""Admin HTTP API (org tree, accounts, devices, machine tokens, audit log)."""

from litestar.handlers import HTTPRouteHandler

ROUTES: list[HTTPRouteHandler] = []
