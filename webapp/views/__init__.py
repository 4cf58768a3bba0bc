"""Blueprint registration. The admin blueprint is one URL prefix split over several modules.

Every view module is listed here: importing an admin_* module attaches its routes to admin.bp.
"""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from webapp.views import (  # noqa: F401
        admin,
        admin_forms,
        admin_members,
        admin_org,
        admin_page_salesforce,
        admin_pages,
        admin_salesforce,
        admin_syncs,
        auth,
        errors,
        public,
    )

    app.register_blueprint(auth.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(public.bp)
    errors.init_app(app)
