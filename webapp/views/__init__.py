"""Blueprint registration. The admin blueprint is one URL prefix split over several modules."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    # Importing the admin_* screen modules attaches their routes to admin.bp.
    from webapp.views import (  # noqa: F401
        admin,
        admin_mail,
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
