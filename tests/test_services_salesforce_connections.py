"""Connection service: secrets at rest, serialized refresh, broken detection, disconnect (C6-C8)."""

from __future__ import annotations

import logging
import multiprocessing

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from tests import fixtures_salesforce as sfx
from tests.fixtures_salesforce import decrypt
from webapp.extensions import db
from webapp.integrations import salesforce as sf
from webapp.models import SalesforceAuditEvent, SalesforceConnection
from webapp.services.crypto import DecryptionError
from webapp.services.salesforce import connections

SOQL = "SELECT Id FROM User WHERE IsActive = true"


def current(org_id: int) -> SalesforceConnection:
    db.session.expire_all()
    return connections.get_connection(org_id)


def plain_secrets(conn: SalesforceConnection) -> set[str]:
    return {decrypt(conn.access_token_enc), decrypt(conn.refresh_token_enc),
            decrypt(conn.consumer_secret_enc)}


def dump_database() -> str:
    """Every row of every table, every column as text."""
    lines = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(table.select()):
            lines.append(f"{table.name}: " + " | ".join(str(value) for value in row))
    return "\n".join(lines)


def test_C8_secrets_are_encrypted_at_rest(sf_connection, connected_app):
    row = db.session.execute(text(
        "SELECT consumer_secret_enc, access_token_enc, refresh_token_enc "
        "FROM salesforce_connections")).one()
    secrets = plain_secrets(sf_connection)
    assert connected_app[1] in secrets
    for stored in row:
        assert stored.startswith("gAAAAA")  # Fernet tokens
        assert not any(secret in stored for secret in secrets)


def test_S5_refresh_on_401_stores_the_new_access_token(emulator, sf_connection, org):
    before = decrypt(sf_connection.access_token_enc)
    emulator.control("POST", "tokens/expire")
    assert sfx.client_for_org(org.id).query(SOQL).total_size >= 1
    assert decrypt(current(org.id).access_token_enc) != before
    assert not current(org.id).is_broken


def test_refresh_by_one_worker_is_reused_by_another_without_a_second_refresh(
        emulator, sf_admin_client, sf_callback, org):
    key, secret = emulator.register_app([sf_callback], rotation=True)
    sfx.connect(sf_admin_client, emulator, key, secret)
    first, second = sfx.client_for_org(org.id), sfx.client_for_org(org.id)
    emulator.control("POST", "tokens/expire")
    first.query(SOQL)
    refresh_token = decrypt(current(org.id).refresh_token_enc)
    # The second worker still holds the stale access token; under the lock it sees the stored
    # one changed and uses it instead of replaying the rotated-out refresh token.
    second.query(SOQL)
    assert decrypt(current(org.id).refresh_token_enc) == refresh_token
    assert not current(org.id).is_broken


def _refresh_in_child(config: dict, org_id: int, barrier, results) -> None:
    from webapp import create_app

    app = create_app(config)
    with app.app_context():
        client = sfx.client_for_org(org_id)
        barrier.wait(timeout=30)
        try:
            client.query(SOQL)
            results.put("ok")
        except Exception as exc:  # reported to the parent, which asserts on it
            results.put(f"{type(exc).__name__}: {exc}")


@pytest.mark.slow
def test_concurrent_refresh_from_two_processes_with_rotation_keeps_working(
        sf_app, emulator, sf_admin_client, sf_callback, org):
    key, secret = emulator.register_app([sf_callback], rotation=True)
    sfx.connect(sf_admin_client, emulator, key, secret)
    db.session.commit()
    emulator.control("POST", "tokens/expire")
    keys = ("TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "REDIS_URL", "BASE_URL")
    config = {k: sf_app.config[k] for k in keys} | sfx.salesforce_config(emulator)
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_refresh_in_child, args=(config, org.id, barrier, results))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert outcomes == ["ok", "ok"]
    assert not current(org.id).is_broken
    assert sfx.client_for_org(org.id).query(SOQL).total_size >= 1


@pytest.mark.parametrize("cause", ["revoke", "deactivate"])
def test_C7_invalid_grant_marks_the_connection_broken(emulator, sf_connection, org, cause):
    if cause == "revoke":
        emulator.control("POST", "tokens/revoke")
    else:
        emulator.control("POST", f"users/{sf_connection.sf_user_id}/deactivate")
        emulator.control("POST", "tokens/expire")
    with pytest.raises(sf.SalesforceAuthError):
        sfx.client_for_org(org.id).query(SOQL)
    conn = current(org.id)
    assert conn.is_broken and conn.broken_at is not None
    assert "invalid_grant" in conn.broken_reason
    assert connections.audit_log(org.id)[0].kind == "broken"
    with pytest.raises(connections.ConnectionUnavailable):
        sfx.client_for_org(org.id)


def test_C6_disconnect_deletes_locally_even_when_salesforce_is_unreachable(sf_connection, org,
                                                                         admin):
    sf_connection.login_url = "http://127.0.0.1:9"
    db.session.commit()
    assert connections.disconnect(current(org.id), admin, sfx.sf_settings()) is False
    db.session.commit()
    assert connections.get_connection(org.id) is None
    event = connections.audit_log(org.id)[0]
    assert event.kind == "disconnect" and "revoke-unconfirmed" in event.detail


def test_C8_rotate_keys_reencrypts_and_the_old_key_can_go(sf_app, sf_connection, org):
    before = plain_secrets(sf_connection)
    old_ciphertext = sf_connection.refresh_token_enc
    new_key = Fernet.generate_key().decode()
    sf_app.config["APO_ENCRYPTION_KEYS"] = (new_key, sfx.TEST_KEY)
    result = sf_app.test_cli_runner().invoke(args=["rotate-keys"])
    assert result.exit_code == 0 and "1 Salesforce connection" in result.output
    sf_app.config["APO_ENCRYPTION_KEYS"] = (new_key,)
    conn = current(org.id)
    assert conn.refresh_token_enc != old_ciphertext
    assert plain_secrets(conn) == before
    assert sfx.client_for_org(org.id).query(SOQL).total_size >= 1
    sf_app.config["APO_ENCRYPTION_KEYS"] = (Fernet.generate_key().decode(),)
    with pytest.raises(DecryptionError):
        decrypt(conn.refresh_token_enc)


def test_C8_no_token_or_secret_in_database_dump_or_logs(emulator, sf_admin_client, sf_callback,
                                                        org, caplog):
    caplog.set_level(logging.DEBUG)
    key, secret = emulator.register_app([sf_callback], rotation=True)
    sfx.connect(sf_admin_client, emulator, key, secret)
    seen = plain_secrets(current(org.id))
    emulator.control("POST", "tokens/expire")
    sfx.client_for_org(org.id).query(SOQL)
    seen |= plain_secrets(current(org.id))
    sf_admin_client.get("/admin/integrations/salesforce/checks")
    pages = "".join(sf_admin_client.get(path).get_data(as_text=True) for path in (
        "/admin/integrations", "/admin/integrations/salesforce/connected"))
    dumps = [dump_database()]
    sf_admin_client.post_form("/admin/integrations/salesforce/disconnect", {},
                              token_from="/admin/integrations")
    dumps.append(dump_database())
    assert len(seen) == 5 and secret in seen  # two access, two refresh tokens, the secret
    assert "salesforce_connections" in dumps[0] and "salesforce_audit_events" in dumps[1]
    for haystack in (*dumps, caplog.text, pages):
        for value in seen:
            assert value not in haystack
    assert db.session.scalar(db.select(db.func.count()).select_from(SalesforceAuditEvent)) == 2
