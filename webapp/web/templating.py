"""Jinja globals and filters shared by every template."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, get_day_names
from flask import Flask, request, url_for
from flask_babel import get_locale

from webapp.config import DEFAULT_TIMEZONE
from webapp.services.sync import wording
from webapp.web.i18n import join_list


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


def datelabel(value: date, skeleton: str = "MMMEd") -> str:
    """A date in the page's language from a CLDR skeleton: 11月30日(月) / Mon, Nov 30."""
    return format_skeleton(skeleton, value, locale=str(get_locale()))


def weekday_names(width: str = "abbreviated") -> list[str]:
    """Weekday names Sunday first, as the picker's month grid shows them."""
    names = get_day_names(width, locale=str(get_locale()))
    return [names[6]] + [names[i] for i in range(6)]


def api_usage(info: str | None) -> str:
    """Salesforce's `Sforce-Limit-Info` ("api-usage=3/100000") as "3 / 100,000 (0.1%)";
    anything else is shown as it came."""
    value = (info or "").partition("api-usage=")[2].split(";")[0].strip()
    used, _sep, limit = value.partition("/")
    if not (used.isdigit() and limit.isdigit() and int(limit) > 0):
        return info or ""
    percent = int(used) * 100 / int(limit)
    shown = "<0.1" if 0 < percent < 0.1 else f"{percent:.1f}"
    return f"{int(used):,} / {int(limit):,} ({shown}%)"


def lang_url(lang: str, **keep) -> str:
    """This page in another language; `keep` adds state a POST carried (the chosen slot)."""
    view_args = request.view_args or {}
    # A query name that is a view argument or one of url_for's own (_external, _scheme...)
    # must not reach url_for: a TypeError or a foreign URL otherwise (X4).
    args = {k: v for k, v in request.args.items() if k not in view_args and not k.startswith("_")}
    args.update({key: value for key, value in keep.items() if value})
    args["lang"] = lang
    if request.endpoint is None:
        return "?lang=" + lang
    return url_for(request.endpoint, **view_args, **args)


def init_app(app: Flask) -> None:
    app.add_template_filter(localdatetime)
    app.add_template_filter(join_list)
    app.add_template_filter(datelabel)
    app.add_template_filter(api_usage)
    app.add_template_global(weekday_names)
    for helper in wording.HELPERS:  # the sync log's wording (S3), registered here only
        app.add_template_global(helper)
    app.add_template_global(lang_url)
    app.add_template_global(lambda: str(get_locale()), "current_locale")

