"""Locale selection: Japanese by default, English on request (Flask-Babel)."""

from flask import Flask, request, session
from flask_babel import get_locale, refresh

from webapp.extensions import babel


def join_list(items) -> str:
    """Join names or choices the way the current language lists them (、 or commas)."""
    separator = ", " if str(get_locale()) == "en" else "、"
    return separator.join(str(item) for item in items)


def select_locale() -> str:
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)

    @app.before_request
    def remember_language():
        lang = request.args.get("lang")
        if lang in app.config["LANGUAGES"]:
            session["lang"] = lang
        # Flask-Babel caches the locale on `g`, which outlives a request whenever an app context
        # is already pushed (CLI commands, tests); the choice must follow each request.
        refresh()
