"""Dependencies point one way (STYLE 3.2): services and the integration know no request."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent / "webapp"
REQUEST_STATE = {"request", "session", "g", "flash"}


def _imports(path: pathlib.Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module, {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, set()


def test_services_and_integrations_never_touch_request_state():
    offenders = [
        f"{path.relative_to(ROOT)} imports {sorted(names & REQUEST_STATE)} from flask"
        for folder in ("services", "integrations")
        for path in (ROOT / folder).rglob("*.py")
        for module, names in _imports(path)
        if module == "flask" and names & REQUEST_STATE
    ]
    assert offenders == []


def test_only_the_integration_module_imports_requests():
    package = ROOT / "integrations" / "salesforce"
    users = {
        path
        for path in ROOT.rglob("*.py")
        for module, _names in _imports(path)
        if module == "requests" or module.startswith("requests.")
    }
    outside = sorted(str(path.relative_to(ROOT)) for path in users
                     if not path.is_relative_to(package))
    assert outside == []
    assert users, "the Salesforce package no longer imports requests: is this test stale?"


def test_only_the_mail_integration_speaks_smtp():
    """N5: one place sends mail, so timeouts, TLS and the at-most-once rules live there."""
    package = ROOT / "integrations" / "mail"
    users = {path for path in ROOT.rglob("*.py") for module, _names in _imports(path)
             if module == "smtplib"}
    assert users and all(path.is_relative_to(package) for path in users)
