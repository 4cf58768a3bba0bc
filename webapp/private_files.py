"""Files that hold data or keys are readable by the service's user only (X5)."""

from __future__ import annotations

import os

from sqlalchemy.engine import make_url


def private_file(path: str) -> None:
    """Create ``path`` empty with mode 0600 when missing; tighten it when others can read it.

    SQLite gives its journal and WAL files the database file's mode, so they follow.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        if os.stat(path).st_mode & 0o077 and os.stat(path).st_uid == os.getuid():
            os.chmod(path, 0o600)


def private_sqlite_database(uri: str) -> None:
    """Apply ``private_file`` to the database file of a SQLite URL (not :memory:)."""
    url = make_url(uri)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:"):
        private_file(url.database)
