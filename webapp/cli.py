"""Flask CLI commands: create-admin, seed-demo, sweep-syncs, rotate-keys."""

import click
from flask import Flask
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Admin, Organization


def init_app(app: Flask) -> None:
    app.cli.add_command(create_admin)
    app.cli.add_command(seed_demo)
    app.cli.add_command(sweep_syncs)
    app.cli.add_command(seed_demo_calendars)
    app.cli.add_command(rotate_keys)


@click.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--name", prompt=True)
@click.option("--organization", "org_name", prompt="Organization name")
@click.password_option()
def create_admin(email: str, name: str, org_name: str, password: str) -> None:
    """Create an admin (and their organization when it does not exist yet)."""
    email = email.strip().lower()
    if db.session.scalar(select(Admin).where(func.lower(Admin.email) == email)):
        raise click.ClickException(f"an admin with e-mail {email} already exists")
    if len(password) < 8:
        raise click.ClickException("the password needs at least 8 characters")
    org = db.session.scalar(select(Organization).where(Organization.name == org_name))
    if org is None:
        org = Organization(name=org_name)
        db.session.add(org)
    admin = Admin(email=email, name=name, organization=org)
    admin.set_password(password)
    db.session.add(admin)
    db.session.commit()
    click.echo(f"created admin {email} in organization {org.name!r}")


@click.command("seed-demo")
def seed_demo() -> None:
    """Load the demo organization (idempotent: does nothing when it is already there)."""
    from webapp.services import demo

    created = demo.seed(db.session)
    db.session.commit()
    click.echo("demo data created" if created else "demo data already present")


@click.command("seed-demo-calendars")
@click.argument("caldav_url")
def seed_demo_calendars(caldav_url: str) -> None:
    """Connect the demo members' calendars on the demo's Radicale server (make run, K1)."""
    from webapp.jobs.calendars import options
    from webapp.services import demo

    count = demo.connect_demo_calendars(db.session, caldav_url, options())
    db.session.commit()
    click.echo(f"connected {count} demo calendar(s)")


@click.command("sweep-syncs")
def sweep_syncs() -> None:
    """Queue again every sync record that is pending (S1); run it from cron or the worker."""
    from webapp.jobs import mail as mail_jobs
    from webapp.jobs import sync as sync_jobs

    count = sync_jobs.requeue_pending()
    click.echo(f"queued {count} pending sync record(s)")
    click.echo(f"queued {mail_jobs.requeue_messages()} pending message(s)")  # N5


@click.command("rotate-keys")
def rotate_keys() -> None:
    """Re-encrypt stored Salesforce and calendar secrets with the first key of
    APO_ENCRYPTION_KEYS (C8)."""
    from webapp import settings
    from webapp.services import crypto
    from webapp.services.calendars import connections as calendar_connections

    keyring = settings.current().salesforce.keyring
    count = crypto.rotate_all(keyring)
    calendars = calendar_connections.rotate_credentials(keyring)
    db.session.commit()
    click.echo(f"re-encrypted the secrets of {count} Salesforce connection(s) and "
               f"{calendars} calendar connection(s)")
