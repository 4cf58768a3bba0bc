"""分析 (O7) and ホーム's partial syncs: figures from the database alone over a chosen period,
charts as SVG with a table behind each, scoped to the organization."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.factories import login, make_admin, make_booking, make_member, make_org, make_page
from webapp.extensions import db
from webapp.models import SyncRecord


def seeded(app):
    org = make_org()
    sato, suzuki = (make_member(org, name=n) for n in ("佐藤", "鈴木"))
    demo = make_page(org, [sato, suzuki], title="製品デモ")
    talk = make_page(org, [suzuki], title="個別相談")
    made = datetime(2030, 3, 4, 3, 0, tzinfo=UTC)  # a Monday, 12:00 in Tokyo
    bookings = []
    for i in range(5):
        b = make_booking(demo, [sato], start=made + timedelta(days=30 + i),
                         email=f"d{i}@example.net")
        b.created_at = made + timedelta(days=7 * (i % 2))  # weeks of 3/4 and 3/11
        bookings.append(b)
    for i in range(2):
        b = make_booking(talk, [suzuki], start=made + timedelta(days=40 + i),
                         email=f"t{i}@example.net")
        b.created_at = made
        bookings.append(b)
    old = make_booking(talk, [suzuki], start=made - timedelta(days=200), email="old@example.net")
    old.created_at = made - timedelta(days=200)  # outside the period
    bookings[0].status, bookings[0].cancelled_at = "cancelled", made + timedelta(days=1)
    bookings[1].outcome, bookings[1].outcome_at = "no_show", made + timedelta(days=2)
    for status, booking in (("succeeded", bookings[2]), ("partial", bookings[3]),
                            ("failed", bookings[4])):
        db.session.add(SyncRecord(organization_id=org.id, booking_id=booking.id,
                                  status=status, created_at=made))
    other = make_org()  # another organization's booking never shows
    stranger = make_page(other, [make_member(other)], title="他社")
    foreign = make_booking(stranger, stranger.members, email="x@example.net")
    foreign.created_at = made
    admin = make_admin(org)
    db.session.commit()
    return admin


def chart_rows(html: str, chart: str) -> dict[str, str]:
    part = html.split(f'id="{chart}"')[1].split("</figure>")[0]
    return dict(re.findall(r'<tr><th scope="row">([^<]+)</th><td>(\d+)</td></tr>', part))


def test_O7_the_dashboard_counts_the_period_by_week_page_member_changes_and_syncs(app, client):
    admin = seeded(app)
    login(client, admin)
    html = client.get("/admin/analytics?from=2030-03-01&to=2030-03-31").get_data(as_text=True)
    assert re.search(r'id="total-bookings">7<', html)
    assert chart_rows(html, "chart-weeks") == {"2/25〜": "0", "3/4〜": "5", "3/11〜": "2",
                                               "3/18〜": "0", "3/25〜": "0"}
    assert chart_rows(html, "chart-pages") == {"製品デモ": "5", "個別相談": "2"}
    assert chart_rows(html, "chart-members") == {"佐藤": "5", "鈴木": "2"}
    syncs = chart_rows(html, "chart-syncs")
    assert syncs["同期済み"] == "1" and syncs["一部成功"] == "1" and syncs["失敗"] == "1"
    assert "他社" not in html
    assert 'role="img"' in html and "<desc" in html  # the chart describes itself
    # A period with nothing says so, and a reversed period is read the right way round.
    empty = client.get("/admin/analytics?from=2031-01-01&to=2031-01-31").get_data(as_text=True)
    assert re.search(r'id="total-bookings">0<', empty)
    flipped = client.get("/admin/analytics?from=2030-03-31&to=2030-03-01").get_data(as_text=True)
    assert re.search(r'id="total-bookings">7<', flipped)


def test_O7_home_shows_partial_syncs_and_links_the_dashboard(app, client):
    admin = seeded(app)
    login(client, admin)
    html = client.get("/admin/").get_data(as_text=True)
    tile = html.split('stat-partial')[1][:300]
    assert "一部成功" in tile and ">1<" in tile
    assert 'id="open-analytics"' in html
