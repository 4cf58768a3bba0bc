"""Encryption of secrets at rest (C8): Fernet through MultiFernet, keys from configuration.

APO_ENCRYPTION_KEYS is a comma-separated list of Fernet keys; the first encrypts, all decrypt.
Rotation: put a new key first, run ``flask rotate-keys``, then drop the old key.
"""

from __future__ import annotations

import base64
import hashlib

import click
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app

from webapp.extensions import db

# Columns holding ciphertext; rotate-keys re-encrypts exactly these.
ENCRYPTED_COLUMNS = ("consumer_secret_enc", "access_token_enc", "refresh_token_enc")


class DecryptionError(Exception):
    """A stored secret cannot be decrypted with any configured key."""


def init_app(app: Flask) -> None:
    """Check the key configuration (no I/O) and register ``flask rotate-keys``."""
    _keys(app.config)
    if "rotate-keys" not in app.cli.commands:
        app.cli.add_command(rotate_keys_command)


def _keys(config) -> list[str]:
    raw = config.get("APO_ENCRYPTION_KEYS")
    if isinstance(raw, str):
        keys = [k.strip() for k in raw.split(",") if k.strip()]
    else:
        keys = list(raw or [])
    if keys:
        for key in keys:
            Fernet(key)  # raises ValueError on a malformed key: fail at startup, not later
        return keys
    if config.get("DEMO") or config.get("TESTING"):
        # Demo and tests only: a key derived from SECRET_KEY, so `make run` needs no extra setup.
        digest = hashlib.sha256(b"apo-encryption:" + str(config["SECRET_KEY"]).encode()).digest()
        return [base64.urlsafe_b64encode(digest).decode()]
    raise RuntimeError("APO_ENCRYPTION_KEYS must be set (comma-separated Fernet keys).")


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in _keys(current_app.config)])


def encrypt(plaintext: str) -> str:
    """Encrypt a secret with the primary key."""
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    """Decrypt a secret with whichever configured key made it.

    Raises:
        DecryptionError: no configured key fits (a key was dropped before rotating).
    """
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise DecryptionError("stored secret cannot be decrypted with the configured keys") \
            from None


def rotate_all() -> int:
    """Re-encrypt every stored secret with the primary key; returns the number of rows."""
    from webapp.models import SalesforceConnection

    fernet = _fernet()
    rows = db.session.scalars(db.select(SalesforceConnection)).all()
    for row in rows:
        for column in ENCRYPTED_COLUMNS:
            value = getattr(row, column)
            if value:
                setattr(row, column, fernet.rotate(value.encode()).decode())
    db.session.commit()
    return len(rows)


@click.command("rotate-keys")
def rotate_keys_command() -> None:
    """Re-encrypt stored Salesforce secrets with the first key of APO_ENCRYPTION_KEYS."""
    count = rotate_all()
    click.echo(f"re-encrypted the secrets of {count} Salesforce connection(s)")
