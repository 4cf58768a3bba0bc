"""Blueprint registration. The admin blueprint is one URL prefix split over several modules."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from webapp.views import admin, auth, errors, public

    # Importing the screen modules attaches their routes to admin.bp.
    from webapp.views import admin_members, admin_org, admin_pages  # noqa: F401

    app.register_blueprint(auth.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(public.bp)
    errors.init_app(app)
