"""分析 (O7) and ホーム's partial syncs: figures from the database alone over a chosen period,
charts as SVG with a table behind each, scoped to the organization."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event

from tests.factories import login, make_admin, make_booking, make_member, make_org, make_page
from webapp.extensions import db
from webapp.models import Booking, SyncRecord


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
    # A phone gets a narrow drawing of the same figures, named by the same caption.
    for chart in ("chart-weeks", "chart-pages", "chart-members", "chart-syncs"):
        wide = re.search(rf'<desc id="{chart}-desc">([^<]*)</desc>', html).group(1)
        narrow = re.search(rf'<desc id="{chart}-narrow-desc">([^<]*)</desc>', html).group(1)
        assert wide == narrow and wide
        assert f'aria-labelledby="{chart}-title {chart}-narrow-desc"' in html
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


def stat(html: str, label: str) -> str:
    return re.search(rf'stat-value"[^>]*>(\d+)</span><span class="stat-label">{label}<',
                     html).group(1)


def test_O7_weeks_and_the_period_are_the_organizations_local_days_at_a_half_hour_offset(
        app, client):
    # Kolkata is UTC+5:30: its midnights fall on the half hour in UTC.
    org = make_org(timezone="Asia/Kolkata")
    page = make_page(org, [make_member(org)], title="相談")
    for i, (day, hhmm) in enumerate((("03-03", "18:29"),    # Sun 3/3 23:59: before the period
                                     ("03-03", "18:30"),    # Mon 3/4 00:00
                                     ("03-10", "18:20"),    # Sun 3/10 23:50
                                     ("03-10", "18:40"),    # Mon 3/11 00:10
                                     ("03-17", "18:29"),    # Sun 3/17 23:59
                                     ("03-17", "18:30"))):  # Mon 3/18 00:00: after it
        booking = make_booking(page, email=f"k{i}@example.net")
        booking.created_at = datetime.fromisoformat(f"2030-{day}T{hhmm}:00+00:00")
    admin = make_admin(org)
    db.session.commit()
    login(client, admin)
    html = client.get("/admin/analytics?from=2030-03-04&to=2030-03-17").get_data(as_text=True)
    assert chart_rows(html, "chart-weeks") == {"3/4〜": "2", "3/11〜": "2"}
    assert re.search(r'id="total-bookings">4<', html)


def test_O7_weeks_follow_the_clock_across_a_daylight_saving_change(app):
    from webapp.services import analytics

    org = make_org(timezone="America/New_York")
    page = make_page(org, [make_member(org)])
    # Clocks go forward on Sunday 2030-03-10: Monday 3/4 starts at 05:00 UTC, 3/11 at 04:00.
    for i, stamp in enumerate(("2030-03-04T04:59", "2030-03-04T05:00", "2030-03-11T03:59",
                               "2030-03-11T04:00", "2030-03-18T03:59", "2030-03-18T04:00")):
        booking = make_booking(page, email=f"n{i}@example.net")
        booking.created_at = datetime.fromisoformat(f"{stamp}:00+00:00")
    db.session.commit()
    dashboard = analytics.build(org.id, org.timezone, date(2030, 3, 4), date(2030, 3, 17))
    assert dashboard.weeks == [(date(2030, 3, 4), 2), (date(2030, 3, 11), 2)]


def test_O7_changes_and_syncs_count_what_happened_in_the_period(app, client):
    admin = seeded(app)
    org_id = admin.organization_id
    made = datetime(2030, 3, 4, 3, 0, tzinfo=UTC)
    old = Booking.query.filter_by(email="old@example.net").one()
    # Made before the period, changed in it: counted; made in it, changed after: not.
    old.status, old.cancelled_at = "cancelled", made
    late = Booking.query.filter_by(email="t0@example.net").one()
    late.outcome, late.outcome_at = "held", made + timedelta(days=40)
    on_time = Booking.query.filter_by(email="t1@example.net").one()
    on_time.outcome, on_time.outcome_at = "held", made + timedelta(days=3)
    for at, action, status in ((made, "reschedule", "waiting_reconnect"),
                               (made + timedelta(days=60), "reschedule", "failed")):
        db.session.add(SyncRecord(organization_id=org_id, booking_id=on_time.id, action=action,
                                  status=status, created_at=at))
    db.session.commit()
    login(client, admin)
    html = client.get("/admin/analytics?from=2030-03-01&to=2030-03-31").get_data(as_text=True)
    assert [stat(html, label) for label in ("キャンセル", "日時変更", "無断欠席", "実施")] == \
        ["2", "1", "1", "1"]
    syncs = chart_rows(html, "chart-syncs")
    assert syncs["失敗"] == "1" and len(syncs) == 4  # the March reconnect wait, not May's failure


def test_O7_every_count_reads_the_period_through_an_index(app):
    """The rule's cost bound: each statement reads bookings and sync records only through an
    index range over the period (the members of those bookings by their booking), never the
    organization's whole history, so a year costs the year's rows."""
    from webapp.services import analytics

    if db.engine.dialect.name != "sqlite":
        pytest.skip("reads SQLite's query plans")
    org_id = seeded(app).organization_id
    statements = []

    def record(_conn, _cursor, statement, parameters, _context, _many):
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        analytics.build(org_id, "Asia/Tokyo", date(2030, 3, 1), date(2030, 3, 31))
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    bounded = re.compile(r"SEARCH (TABLE )?(bookings|sync_records) USING COVERING INDEX \w+ "
                         r"\(organization_id=\? AND .*(\w+_at)>\? AND \3<\?\)$"
                         r"|SEARCH (TABLE )?booking_members USING COVERING INDEX \w+ "
                         r"\(booking_id=\?\)$")
    assert len(statements) == 3
    for statement, parameters in statements:
        plan = [row[3] for row in db.session.connection().exec_driver_sql(
            f"EXPLAIN QUERY PLAN {statement}", parameters)]
        reads = [step for step in plan
                 if re.search(r"\b(bookings|booking_members|sync_records)\b", step)]
        assert reads and all(bounded.match(step) for step in reads), plan
