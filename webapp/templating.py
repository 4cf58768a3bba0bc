"""Jinja globals and filters shared by every template."""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, request, url_for
from flask_babel import get_locale

from webapp.config import DEFAULT_TIMEZONE
from webapp.i18n import join_list
from webapp.services.sync import wording


def localdatetime(value: datetime | None, tz: str = DEFAULT_TIMEZONE,
                  fmt: str | None = None) -> str:
    """Format a UTC datetime in the given zone (dates read the same in both languages)."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(tz))
    if fmt:
        return local.strftime(fmt)
    weekday_ja = "月火水木金土日"[local.weekday()]
    if str(get_locale()) == "en":
        return local.strftime("%a %Y-%m-%d %H:%M")
    return f"{local:%Y/%m/%d}({weekday_ja}) {local:%H:%M}"


def lang_url(lang: str) -> str:
    args = dict(request.args)
    args["lang"] = lang
    if request.endpoint is None:
        return "?lang=" + lang
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def init_app(app: Flask) -> None:
    app.add_template_filter(localdatetime)
    app.add_template_filter(join_list)
    for helper in wording.HELPERS:  # the sync log's wording (S3), registered here only
        app.add_template_global(helper)
    app.add_template_global(lang_url)
    app.add_template_global(lambda: str(get_locale()), "current_locale")

