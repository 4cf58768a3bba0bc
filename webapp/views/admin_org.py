"""Placeholder: being written."""

from webapp.views.admin import bp  # noqa: F401
