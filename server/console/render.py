"""Rendering a console page: the language, the logged-in person, times in Asia/Shanghai."""

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.datastructures import Cookie, State
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from server.access.authenticate import SESSION_COOKIE
from server.access.principal import Principal
from server.access.roles import Permission
from server.access.secrets import csrf_token
from server.console.i18n import JINJA_GLOBALS, LANG_COOKIE, Lang, language, role_label

HERE = Path(__file__).parent
SHANGHAI = ZoneInfo("Asia/Shanghai")
# A page is about one person's data: no browser or proxy may keep it.
NO_STORE = {"Cache-Control": "no-store"}
YEAR = 365 * 24 * 3600


def local_time(value: Any) -> str:
    """A stored UTC time as the office reads it; dates and text as they are."""
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def _register(engine: JinjaTemplateEngine) -> None:
    engine.engine.globals.update(JINJA_GLOBALS)
    engine.engine.filters["local_time"] = local_time


TEMPLATES = TemplateConfig(
    directory=HERE / "templates", engine=JinjaTemplateEngine, engine_callback=_register
)


def lang_of(request: Request[Any, Any, State]) -> Lang:
    return language(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))


def page(
    request: Request[Any, Any, State],
    template: str,
    caller: Principal | None = None,
    status: int = 200,
    **context: Any,
) -> Template:
    """`template` in the request's language; `?lang=` is remembered in a cookie."""
    lang = lang_of(request)
    cookies = []
    if request.query_params.get("lang") in ("zh", "en"):
        cookies.append(Cookie(key=LANG_COOKIE, value=lang, path="/", max_age=YEAR, samesite="lax"))
    if caller is not None:
        context["me"] = {
            "username": caller.username,
            "role": role_label(lang, caller.role),
            "manages_devices": caller.can(Permission.MANAGE_DEVICES),  # the nav's devices link
        }
    # Logging out needs it, even on an error page of someone whose role reads nothing.
    secret = request.cookies.get(SESSION_COOKIE)
    context["csrf"] = csrf_token(secret) if secret else ""
    return Template(
        template_name=template,
        context={"lang": lang, "path": request.url.path, **context},
        status_code=status,
        cookies=cookies,
        headers=NO_STORE,
    )
