"""Model factories and sign-in helpers (loaded as a pytest plugin by conftest)."""

from __future__ import annotations

import itertools

import pytest

from webapp.extensions import db
from webapp.models import (
    Admin,
    BookingPage,
    FormField,
    Member,
    Organization,
    PageMember,
)

_seq = itertools.count(1)


def make_org(name: str | None = None, plan: str = "premium", **kw) -> Organization:
    org = Organization(name=name or f"Org {next(_seq)}", plan=plan, **kw)
    db.session.add(org)
    db.session.flush()
    return org


def make_admin(org: Organization, email: str | None = None, password: str = "secret-pass",
               **kw) -> Admin:
    admin = Admin(organization=org, email=email or f"admin{next(_seq)}@example.com",
                  name=kw.pop("name", "Admin"), **kw)
    admin.set_password(password)
    db.session.add(admin)
    db.session.flush()
    return admin


def make_member(org: Organization, name: str | None = None, email: str | None = None,
                **kw) -> Member:
    n = next(_seq)
    member = Member(organization=org, name=name or f"Member {n}",
                    email=email or f"member{n}@example.com", **kw)
    db.session.add(member)
    db.session.flush()
    return member


def make_page(org: Organization, members: list[Member] | None = None, kind: str = "team",
              fields: list[dict] | None = None, **kw) -> BookingPage:
    n = next(_seq)
    page = BookingPage(organization=org, kind=kind if isinstance(kind, str) else kind.value,
                       title=kw.pop("title", f"Page {n}"), slug=kw.pop("slug", f"page-{n}"), **kw)
    page.page_members = [PageMember(member=m, position=i) for i, m in enumerate(members or [])]
    page.fields = [FormField(position=i, **f) for i, f in enumerate(fields or [])]
    db.session.add(page)
    db.session.flush()
    return page


def login(client, admin: Admin, password: str = "secret-pass"):
    """Sign in through the real login form (CSRF included)."""
    response = client.post_form("/login", {"email": admin.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def org(app):
    """An organization on the premium plan."""
    organization = make_org()
    db.session.commit()
    return organization


@pytest.fixture
def admin(org):
    """An admin of `org` (password 'secret-pass')."""
    user = make_admin(org)
    db.session.commit()
    return user


@pytest.fixture
def admin_client(client, admin):
    """A test client signed in as `admin`."""
    login(client, admin)
    return client


