"""The mail catcher (N6): a real SMTP server that keeps every message, and its web page."""

import smtplib
from email.message import EmailMessage

import pytest

from mail_catcher import MailCatcher
from mail_catcher.web import create_app


@pytest.fixture
def catcher(tmp_path):
    with MailCatcher(spool_dir=str(tmp_path / "spool")) as running:
        yield running


def send(catcher, subject="テスト <script>alert(1)</script>", html="<p>本文</p>", ics=True):
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, "a@example.com", "b@example.com"
    message.set_content("本文")
    message.add_alternative(html, subtype="html")
    if ics:
        message.add_alternative("BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n",
                                subtype="calendar", params={"method": "REQUEST"})
    with smtplib.SMTP("127.0.0.1", catcher.port, timeout=5) as smtp:
        smtp.send_message(message)


def test_N6_catcher_keeps_every_message_and_spools_it(catcher, tmp_path):
    send(catcher)
    send(catcher, subject="二通目", ics=False)
    assert [str(m.parsed()["Subject"]) for m in catcher.messages] == [
        "テスト <script>alert(1)</script>", "二通目"]
    assert catcher.messages[0].rcpt_tos == ["b@example.com"]
    assert sorted(p.name for p in (tmp_path / "spool").iterdir()) == ["000001.eml", "000002.eml"]


def test_N6_page_lists_messages_escaped_with_preview_and_ics(catcher):
    send(catcher)
    client = create_app(catcher).test_client()
    index = client.get("/").get_data(as_text=True)
    assert "&lt;script&gt;" in index and "<script>alert" not in index
    assert 'href="/messages/1/invite.ics"' in index and "REQUEST" in index
    page = client.get("/messages/1").get_data(as_text=True)
    assert '<iframe sandbox title="HTML preview" src="/messages/1/html">' in page
    html = client.get("/messages/1/html")
    assert html.get_data(as_text=True).strip() == "<p>本文</p>"
    assert html.headers["Content-Security-Policy"].startswith("sandbox")
    ics = client.get("/messages/1/invite.ics")
    assert ics.mimetype == "text/calendar" and b"METHOD:REQUEST" in ics.data
    assert "attachment" in ics.headers["Content-Disposition"]
    assert client.get("/messages/1/raw.eml").data == catcher.messages[0].raw
    assert client.get("/messages/9/html").status_code == 404


def test_N6_fault_knobs_make_a_temporary_error_and_a_lost_reply(catcher):
    catcher.fail_next = 1
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(catcher)
    assert refused.value.smtp_code == 451 and catcher.messages == []
    catcher.drop_next = 1
    with pytest.raises(smtplib.SMTPServerDisconnected):
        send(catcher)
    assert len(catcher.messages) == 1  # kept, though the client never heard so
