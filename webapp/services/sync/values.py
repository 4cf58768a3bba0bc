"""Booking-form answers converted to a Salesforce field's type (M4, M7). Pure: no DB, no I/O.

``convert(value, field)`` takes an answer (a string, or a list for checkbox fields) and the
field's describe entry, and returns either the value to send or a ``Dropped`` reason. The sync
engine writes the rest of the Lead and names the dropped field and value in the sync log
(M3, M7): one bad answer never blocks the whole record.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from webapp.services.salesforce.field_mapping import active_picklist_values

TEXT_TYPES = {"string", "textarea", "email", "phone", "url", "encryptedstring", "combobox"}
NUMBER_TYPES = {"int", "double", "currency", "percent", "long"}
# Currency signs and thousands separators customers type ("¥1,000", "1,000円", "50%").
_NUMBER_NOISE = re.compile(r"[,\s¥$€£円%]")


@dataclass(frozen=True)
class Dropped:
    """Why a value was not written: ``reason`` is a key the sync log translates."""

    reason: str  # too_long | unknown_choice | not_a_number | not_boolean | unsupported_type
    value: str


def display(value) -> str:
    """The answer as the admin typed or the customer chose it (lists joined with ;)."""
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    return "" if value is None else str(value)


def is_blank(value) -> bool:
    """An unanswered field: empty string, whitespace, or an empty choice list (M6)."""
    if isinstance(value, list | tuple):
        return not any(str(v).strip() for v in value)
    return value is None or not str(value).strip()


def _text(value, field: dict):
    text = display(value)
    length = field.get("length") or 0
    if length and len(text) > length:
        return Dropped("too_long", text)
    return text


def _picklist(value, field: dict):
    text = display(value)
    if text not in active_picklist_values(field):
        return Dropped("unknown_choice", text)
    return text


def _multipicklist(value, field: dict):
    chosen = [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
    choices = active_picklist_values(field)
    unknown = [c for c in chosen if c not in choices]
    if unknown:
        return Dropped("unknown_choice", ";".join(unknown))
    joined = ";".join(chosen)  # Salesforce's wire format: one string, no spaces (M7)
    length = field.get("length") or 0
    if length and len(joined) > length:
        return Dropped("too_long", joined)
    return joined


def _number(value, field: dict):
    text = display(value)
    # NFKC turns full-width digits (１２３) into ASCII ones, as Japanese forms often carry.
    cleaned = _NUMBER_NOISE.sub("", unicodedata.normalize("NFKC", text))
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        return Dropped("not_a_number", text)
    if not number.is_finite():
        return Dropped("not_a_number", text)
    scale = int(field.get("scale") or 0)
    precision = int(field.get("precision") or field.get("digits") or 0)
    if field.get("type") in ("int", "long"):
        if number != number.to_integral_value():
            return Dropped("not_a_number", text)
        scale = 0
    if precision and len(str(abs(int(number)))) > precision - scale:
        return Dropped("not_a_number", text)
    if scale == 0 and number == number.to_integral_value():
        return int(number)
    return float(round(number, scale))


def _boolean(value, field: dict):
    text = display(value).strip().lower()
    if text in ("true", "false"):  # M4: a hidden field holding true or false
        return text == "true"
    return Dropped("not_boolean", display(value))


_CONVERTERS = {"picklist": _picklist, "multipicklist": _multipicklist, "boolean": _boolean}


def convert(value, field: dict):
    """The value to send for ``field`` (a describe entry), or a ``Dropped`` (M3, M4, M7).

    Blank answers are the caller's business (M6 decides whether they clear or keep a value).
    """
    kind = field.get("type") or ""
    if kind in _CONVERTERS:
        return _CONVERTERS[kind](value, field)
    if kind in NUMBER_TYPES:
        return _number(value, field)
    if kind in TEXT_TYPES:
        return _text(value, field)
    return Dropped("unsupported_type", display(value))
