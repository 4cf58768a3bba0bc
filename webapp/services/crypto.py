"""Encryption of secrets at rest (C8): Fernet through MultiFernet, keys from configuration.

APO_ENCRYPTION_KEYS is a comma-separated list of Fernet keys; the first encrypts, all decrypt.
Rotation: put a new key first, run ``flask rotate-keys``, then drop the old key. The key ring is
built from the config by the caller and passed in (``Settings.salesforce.keyring`` and
``Settings.calendars.keyring``: Salesforce tokens and calendar credentials alike).
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from webapp.extensions import db

# Columns holding ciphertext; rotate-keys re-encrypts exactly these.
ENCRYPTED_COLUMNS = ("consumer_secret_enc", "access_token_enc", "refresh_token_enc")


class DecryptionError(Exception):
    """A stored secret cannot be decrypted with any configured key."""


class Keyring:
    """The configured keys: the first encrypts, every one decrypts."""

    def __init__(self, keys: list[str]):
        self._fernet = MultiFernet([Fernet(key) for key in keys])  # ValueError on a bad key

    @classmethod
    def from_config(cls, config) -> Keyring:
        """Raises ValueError or RuntimeError on a malformed or missing key: fail at startup."""
        return cls(_keys(config))

    def encrypt(self, plaintext: str) -> str:
        """Encrypt a secret with the primary key."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        """Decrypt a secret with whichever configured key made it.

        Raises:
            DecryptionError: no configured key fits (a key was dropped before rotating).
        """
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise DecryptionError("stored secret cannot be decrypted with the configured keys") \
                from None

    def rotate(self, ciphertext: str) -> str:
        return self._fernet.rotate(ciphertext.encode()).decode()


def _keys(config) -> list[str]:
    keys = list(config.get("APO_ENCRYPTION_KEYS") or ())  # a tuple (webapp/config.TYPES)
    if keys:
        return keys
    if config.get("DEMO") or config.get("TESTING"):
        # Demo and tests only: a key derived from SECRET_KEY, so `make run` needs no extra setup.
        digest = hashlib.sha256(b"apo-encryption:" + str(config["SECRET_KEY"]).encode()).digest()
        return [base64.urlsafe_b64encode(digest).decode()]
    raise RuntimeError("APO_ENCRYPTION_KEYS must be set (comma-separated Fernet keys).")


def rotate_all(keyring: Keyring) -> int:
    """Re-encrypt every stored secret with the primary key; returns the number of rows.

    The caller commits.
    """
    from webapp.models import SalesforceConnection

    rows = db.session.scalars(db.select(SalesforceConnection)).all()
    for row in rows:
        for column in ENCRYPTED_COLUMNS:
            value = getattr(row, column)
            if value:
                setattr(row, column, keyring.rotate(value))
    return len(rows)
