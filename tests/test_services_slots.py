"""Pure slot computation (O4, O5): plain values, no database, milliseconds each."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from webapp.services.slots import (
    MemberSchedule,
    claimed_units,
    compute_slots,
    format_start,
    group_by_day,
    is_aligned,
    pick_round_robin,
    slot_step,
    week_range,
)

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
# Sunday 2026-06-07 00:00 JST: the following Monday is 2026-06-08.
SUNDAY = datetime(2026, 6, 7, tzinfo=TOKYO).astimezone(UTC)


def tokyo(day: int, hour: int, minute: int = 0, month: int = 6) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TOKYO).astimezone(UTC)


def member(mid=1, tz="Asia/Tokyo", hours=None, busy=()) -> MemberSchedule:
    return MemberSchedule(mid, tz, hours or {"mon": [["09:00", "18:00"]]}, frozenset(busy))


def slots_for(schedules, now=SUNDAY, duration=30, buffer=0, window=7, attend_all=True, **kw):
    return compute_slots(schedules, duration_minutes=duration, buffer_minutes=buffer,
                         window_days=window, now=now, attend_all=attend_all, **kw)


def starts(slots) -> list[datetime]:
    return [slot.start for slot in slots]


def test_O4_slots_fill_working_hours_in_member_zone_on_a_15_minute_grid():
    found = slots_for([member()])
    assert found[0].start == tokyo(8, 9)
    assert found[-1].start == tokyo(8, 17, 30)  # the meeting must end by 18:00
    assert len(found) == 35  # 09:00 .. 17:30 every 15 minutes
    assert all(slot.end - slot.start == timedelta(minutes=30) for slot in found)
    assert all(slot.free_member_ids == (1,) for slot in found)


def test_O4_no_members_or_no_hours_means_no_slots():
    assert slots_for([]) == []
    assert slots_for([member(hours={"sat": [["09:00", "10:00"]]})], window=5) == []


def test_O4_all_members_must_be_inside_hours_across_time_zones():
    # 19:00-23:00 in New York (summer, UTC-4) is 08:00-12:00 the next day in Tokyo.
    ny = member(2, "America/New_York", {"sun": [["19:00", "23:00"]]})
    found = slots_for([member(1), ny])
    assert starts(found)[0] == tokyo(8, 9)
    assert starts(found)[-1] == tokyo(8, 11, 30)
    assert all(slot.free_member_ids == (1, 2) for slot in found)


def test_O4_dst_moves_utc_hours_of_a_new_york_member():
    ny = member(1, "America/New_York", {"mon": [["09:00", "09:30"]]})
    before = slots_for([ny], now=datetime(2026, 3, 1, tzinfo=UTC), window=14)
    # 2026-03-02 is EST (UTC-5); DST starts 2026-03-08, so 2026-03-09 is EDT (UTC-4).
    assert starts(before) == [datetime(2026, 3, 2, 14, tzinfo=UTC),
                              datetime(2026, 3, 9, 13, tzinfo=UTC)]
    assert all(s.astimezone(NEW_YORK).hour == 9 for s in starts(before))


def test_O4_tokyo_has_no_dst_shift():
    found = slots_for([member(hours={"mon": [["09:00", "09:30"]]})], window=200)
    assert {s.astimezone(UTC).hour for s in starts(found)} == {0}
    assert len(found) > 25


def test_O4_slots_skip_existing_bookings_and_buffer():
    existing = claimed_units(tokyo(8, 10), tokyo(8, 10, 30), buffer_minutes=10)
    found = starts(slots_for([member(busy=existing)], buffer=10))
    # 09:30 would run into 10:00 with its own 10-minute buffer; 10:40 is the first free unit
    # after the existing meeting and its buffer, and 10:45 the first grid point.
    assert tokyo(8, 9, 15) in found
    for blocked in (tokyo(8, 9, 30), tokyo(8, 9, 45), tokyo(8, 10), tokyo(8, 10, 30)):
        assert blocked not in found
    assert tokyo(8, 10, 45) in found


def test_O4_minimum_notice_and_window():
    now = tokyo(8, 10, 7)
    found = starts(slots_for([member(hours={d: [["00:00", "24:00"]] for d in ("mon", "tue")})],
                             now=now, window=1))
    assert found[0] == tokyo(8, 11, 15)  # one hour of notice, then the next grid point
    assert found[-1] == tokyo(9, 10)  # strictly before now + 1 day
    assert tokyo(8, 23, 45) in found  # "mon 24:00" meets "tue 00:00": crosses midnight


def test_O4_range_limits_the_computation_to_one_week():
    hours = {d: [["09:00", "10:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    found = slots_for([member(hours=hours)], window=30, range_start=tokyo(9, 0),
                      range_end=tokyo(10, 0))
    assert {s.astimezone(TOKYO).day for s in starts(found)} == {9}


def test_O5_round_robin_needs_one_free_member_and_all_mode_needs_everyone():
    busy = claimed_units(tokyo(8, 9), tokyo(8, 18), 0)
    team = [member(1), member(2, busy=busy)]
    assert slots_for(team, attend_all=True) == []
    found = slots_for(team, attend_all=False)
    assert len(found) == 35
    assert all(slot.free_member_ids == (1,) for slot in found)


def test_O5_round_robin_picks_least_recently_booked_then_page_order():
    order = [3, 1, 2]
    t = datetime(2026, 6, 1, tzinfo=UTC)
    assert pick_round_robin([1, 2, 3], order, {}) == 3  # nobody booked yet: page order
    assert pick_round_robin([1, 2, 3], order, {3: t}) == 1
    assert pick_round_robin([1, 2, 3], order, {3: t, 1: t + timedelta(hours=1)}) == 2
    assert pick_round_robin([1, 3], order, {3: t, 1: t}) == 3  # tie: page order
    assert pick_round_robin([2], order, {}) == 2  # only free members are candidates


@pytest.mark.parametrize("duration, step", [(60, 15), (30, 15), (15, 15), (10, 10), (7, 5)])
def test_O4_slot_step(duration, step):
    assert slot_step(duration) == step


def test_O4_alignment_and_claims():
    assert is_aligned(tokyo(8, 9, 45), 30)
    assert not is_aligned(tokyo(8, 9, 40), 30)
    assert not is_aligned(tokyo(8, 9, 45) + timedelta(seconds=1), 30)
    units = claimed_units(tokyo(8, 9), tokyo(8, 9, 30), 10)
    assert len(units) == 8 and units[0] == tokyo(8, 9) and units[-1] == tokyo(8, 9, 35)


def test_O4_group_by_day_uses_the_display_zone():
    found = slots_for([member(hours={"mon": [["08:30", "09:30"]]})])
    by_tokyo = group_by_day(found, "Asia/Tokyo")
    by_ny = group_by_day(found, "America/New_York")
    assert len(by_tokyo) == 1 and len(by_ny) == 1
    assert by_tokyo[0][0].day == 8 and by_ny[0][0].day == 7  # Sunday evening in New York


def test_O4_week_range_clamps_to_the_window():
    start, end, week, last = week_range(SUNDAY, "Asia/Tokyo", 9, window_days=14)
    assert (week, last) == (2, 2)
    assert start == tokyo(21, 0) and end == tokyo(28, 0)
    assert week_range(SUNDAY, "Asia/Tokyo", -3, 14)[2] == 0
    assert format_start(tokyo(8, 9)) == "2026-06-08T00:00:00Z"
