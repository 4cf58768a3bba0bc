"""Jinja globals and filters shared by every template."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, get_day_names
from flask import Flask, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from webapp.i18n import join_list


def localdatetime(value: datetime | None, tz: str = "Asia/Tokyo", fmt: str | None = None) -> str:
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
    args = dict(request.args)
    args.update({key: value for key, value in keep.items() if value})
    args["lang"] = lang
    if request.endpoint is None:
        return "?lang=" + lang
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def sync_status_label(status: str) -> str:
    labels = {
        "pending": _("同期待ち"),
        "running": _("処理中"),
        "succeeded": _("同期済み"),
        "partial": _("一部成功"),
        "failed": _("失敗"),
        "waiting_reconnect": _("要再連携"),
        "skipped": _("対象外"),
    }
    return labels.get(status, status)


def sync_status_class(status: str) -> str:
    return {
        "succeeded": "badge-ok",
        "partial": "badge-warn",
        "failed": "badge-err",
        "waiting_reconnect": "badge-err",
        "running": "badge-info",
    }.get(status, "badge-muted")


def sync_action_label(action: str) -> str:
    labels = {"create": _("予約の登録"), "reschedule": _("日時の変更"), "cancel": _("キャンセル")}
    return labels.get(action, action)


def init_app(app: Flask) -> None:
    app.add_template_filter(localdatetime)
    app.add_template_filter(join_list)
    app.add_template_filter(datelabel)
    app.add_template_filter(api_usage)
    app.add_template_global(weekday_names)
    for helper in (sync_status_label, sync_status_class, sync_action_label):
        app.add_template_global(helper)
    app.add_template_global(lang_url)
    app.add_template_global(lambda: str(get_locale()), "current_locale")

