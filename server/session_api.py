"""Browser sessions and device self-service (login, logout, enroll, rotate)."""

from litestar.handlers import HTTPRouteHandler

ROUTES: list[HTTPRouteHandler] = []
