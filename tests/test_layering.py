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
    package = ROOT / "integrations"
    users = {
        path
        for path in ROOT.rglob("*.py")
        for module, _names in _imports(path)
        if module == "requests" or module.startswith("requests.")
    }
    # Each integrations/<service>/ package is the only code speaking to that service.
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


def _below_services():
    for folder in ("services", "models", "integrations"):
        yield from (ROOT / folder).rglob("*.py")
    yield from (ROOT / name for name in ("config.py", "extensions.py", "web/i18n.py"))


def test_services_never_read_current_app():
    """Services take their settings as arguments (webapp/settings.py builds them)."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "services").rglob("*.py")
        for module, names in _imports(path)
        if (module == "flask" and "current_app" in names)
        or "current_app" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


UPPER = ("webapp.views", "webapp.forms", "webapp.jobs")


def test_nothing_below_services_imports_views_forms_or_jobs():
    """Views and jobs call services, never the other way round (STYLE 3.2)."""
    offenders = sorted(
        f"{path.relative_to(ROOT)} imports {module}"
        for path in _below_services()
        for module, names in _imports(path)
        for upper in UPPER
        if module == upper or module.startswith(upper + ".") or module.startswith(upper + "_")
        or (module == "webapp" and names & {"views", "jobs", "forms", "forms_admin",
                                            "forms_public", "forms_salesforce"})
    )
    assert offenders == []


# The package's layers, lowest first: a module imports its own layer or lower ones, never a
# higher one. The outside services' adapters (integrations) stand alone below everything.
LAYERS = [
    ("webapp.integrations",),
    ("webapp.config", "webapp.extensions", "webapp.models", "webapp.private_files",
     "webapp.web.i18n"),
    ("webapp.services",),
    ("webapp.settings",),
    ("webapp.forms", "webapp.web", "webapp.jobs"),
    ("webapp.views",),
    ("webapp.cli", "webapp"),
]
# Known upward arrows, each with its reason.
ALLOWED_UP = {
    # A worker process builds its app once (jobs.worker_app): the factory is above the jobs.
    ("webapp.jobs", "webapp"),
}


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> tuple[int, str] | None:
    best = None
    for level, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (
                    best is None or len(prefix) > len(best[1])):
                best = (level, prefix)
    return best


def test_no_module_imports_a_higher_layer():
    """STYLE 3.2: dependencies point down; integrations import nothing of Apo's but their own."""
    offenders = []
    for path in ROOT.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        name = _module_name(path)
        own = _layer(name)
        for module, names in _imports(path):
            targets = [f"{module}.{n}" for n in names] if module == "webapp" else [module]
            for target in targets:
                other = _layer(target)
                if own is None or other is None:
                    continue
                if own[1] == "webapp.integrations" and other[1] != "webapp.integrations":
                    offenders.append(f"{name} -> {target} (integrations stand alone)")
                elif other[0] > own[0] and (own[1], other[1]) not in ALLOWED_UP:
                    offenders.append(f"{name} -> {target}")
    assert sorted(offenders) == []
