"""分析 (O7): bookings per week, by page and by member, changes and sync outcomes over a chosen
period, as server-rendered SVG charts with a table behind each. No Salesforce call."""

from datetime import date, datetime

from babel.dates import format_date
from flask import render_template, request
from flask_babel import get_locale
from flask_login import current_user

from webapp.models import utcnow
from webapp.services import analytics
from webapp.services.sync import wording
from webapp.views.admin import bp, org_id


def _date(value: str | None) -> date | None:
    try:
        return datetime.strptime(value or "", "%Y-%m-%d").date()
    except ValueError:
        return None


@bp.get("/analytics")
def analytics_dashboard():
    tz = current_user.organization.timezone
    from zoneinfo import ZoneInfo

    today = utcnow().astimezone(ZoneInfo(tz)).date()
    start, end = analytics.period(_date(request.args.get("from")),
                                  _date(request.args.get("to")), today)
    dashboard = analytics.build(org_id(), tz, start, end)
    order = ("succeeded", "partial", "failed", "waiting_reconnect", "pending", "running",
             "skipped")
    sync_rows = [(wording.sync_status_label(status), dashboard.syncs[status])
                 for status in order if dashboard.syncs.get(status)]
    week_rows = [(format_date(week, "M/d", locale=str(get_locale())) + "〜", count)
                 for week, count in dashboard.weeks]
    return render_template("admin/analytics.html", dashboard=dashboard, week_rows=week_rows,
                           sync_rows=sync_rows)
