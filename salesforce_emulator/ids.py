"""Salesforce record ids: 15-character case-sensitive ids plus the 3-character checksum suffix."""

from __future__ import annotations

import re

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_SHAPE = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")

# Fixed "pod" part so seeded ids look like ids of one real org (e.g. 00QIg000001AbCdEFG).
POD = "Ig000"


def to18(id15: str) -> str:
    """Append the checksum that makes an id safe for case-insensitive systems."""
    suffix = ""
    for chunk_start in (0, 5, 10):
        chunk = id15[chunk_start : chunk_start + 5]
        flags = sum(1 << i for i, char in enumerate(chunk) if "A" <= char <= "Z")
        suffix += _SUFFIX_ALPHABET[flags]
    return id15 + suffix


def normalize(value: object) -> str | None:
    """The 18-character form of a 15- or 18-character id, or None when it is not a valid id."""
    if not isinstance(value, str) or not _ID_SHAPE.match(value):
        return None
    if len(value) == 15:
        return to18(value)
    # An 18-character id is case-insensitive: its suffix says which letters are upper case.
    chars = []
    for index, char in enumerate(value[:15]):
        flags = _SUFFIX_ALPHABET.find(value[15 + index // 5].upper())
        if flags < 0:
            return None
        chars.append(char.upper() if flags >> (index % 5) & 1 else char.lower())
    full = to18("".join(chars))
    return full if full[15:] == value[15:].upper() else None


def make(prefix: str, counter: int) -> str:
    """A new 18-character id with the object's key prefix, from a per-org counter."""
    digits = ""
    while counter:
        counter, rem = divmod(counter, 62)
        digits = _BASE62[rem] + digits
    body = (POD + digits.rjust(7, "0"))[-12:]
    return to18(prefix + body)
