"""Blueprint registration. The admin blueprint is one URL prefix split over several modules.

Every view module is listed here: importing an admin_* module attaches its routes to admin.bp.
"""

from flask import Flask
from werkzeug.routing import IntegerConverter


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: ids past the database's integer range are a 404, not an
    overflow in the query (X4)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter
    from webapp.views import (  # noqa: F401
        admin,
        admin_analytics,
        admin_bookings,
        admin_calendars,
        admin_forms,
        admin_mail,
        admin_members,
        admin_org,
        admin_page_salesforce,
        admin_pages,
        admin_salesforce,
        admin_syncs,
        auth,
        calendar_google,
        calendar_microsoft,
        errors,
        hooks,
        meetings_zoom,
        member_calendar,
        public,
    )

    app.register_blueprint(auth.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(calendar_google.bp)
    app.register_blueprint(member_calendar.bp)
    app.register_blueprint(calendar_microsoft.bp)
    app.register_blueprint(hooks.bp)
    app.register_blueprint(meetings_zoom.bp)
    errors.init_app(app)
