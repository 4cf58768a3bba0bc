"""The UI is Japanese by default with a complete English catalog (BRIEF ground rules)."""

import os

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PO = os.path.join(ROOT, "webapp", "translations", "en", "LC_MESSAGES", "messages.po")
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]


def _scanned(directory: str) -> bool:
    # Babel skips folders whose name starts with "_" by default, and with them the shared
    # macros in templates/_macros: their strings once went untranslated unnoticed.
    return not os.path.basename(directory).startswith((".", "__"))


def _source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        os.path.join(ROOT, "webapp"), METHODS, keywords={"_": None, "gettext": None,
                                                         "lazy_gettext": None, "_l": None,
                                                         "ngettext": (1, 2)},
        directory_filter=_scanned,
    ):
        if isinstance(message, tuple):
            found.update(m for m in message if m)
        elif message:
            found.add(message)
    return found


def test_english_catalog_translates_every_message():
    assert "変更を保存" in _source_messages()  # from templates/_macros/admin.html
    with open(PO, "rb") as handle:
        catalog = read_po(handle)
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
    missing = sorted(
        msg for msg in _source_messages()
        if msg not in translated or not translated[msg].string or translated[msg].fuzzy
    )
    assert not missing, f"{len(missing)} message(s) lack an English translation: {missing[:20]}"


def test_japanese_is_the_default_and_english_is_available(client):
    assert "ログイン" in client.get("/login").get_data(as_text=True)
    english = client.get("/login?lang=en").get_data(as_text=True)
    assert "Sign in" in english
    assert "ログイン" not in english
    # The choice sticks for the rest of the session.
    assert "Sign in" in client.get("/login").get_data(as_text=True)


def test_lists_join_per_language(app):
    from webapp.web.i18n import join_list

    with app.test_request_context("/?lang=en"):
        app.preprocess_request()
        assert join_list(["Email", "Phone"]) == "Email, Phone"
    with app.test_request_context("/"):
        app.preprocess_request()
        assert join_list(["メール", "電話"]) == "メール、電話"
