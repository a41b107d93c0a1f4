"""Business-hours arithmetic: "what instant is N working minutes after t?".

Implemented on :mod:`zoneinfo` rather than a third-party package: the maintained options on PyPI
(``businesstimedelta``, last released 2019) are built on ``pytz`` and untyped. The care points are
daylight-saving transitions (each day's window is built in local wall time, then converted to
UTC before any subtraction, because Python subtracts two datetimes of the same ``tzinfo`` in wall
time) and holidays (explicit dates plus, optionally, a country's public holidays from the
well-kept ``holidays`` package).
"""

from __future__ import annotations

from collections.abc import Container
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from empathy_bridge.policies.memo import IdentityMemo
from empathy_bridge.policies.settings import BusinessHours

__all__ = ["add_business_minutes", "closed_dates"]

# A schedule with at least one working day a week always finds a window within 8 days, but a
# long run of holidays could exhaust that; two years of searching is a safe upper bound.
_MAX_DAYS = 732


class _Closed:
    """Closed dates: explicit holidays plus a country calendar, looked up lazily per year."""

    def __init__(self, hours: BusinessHours) -> None:
        self._explicit = frozenset(hours.holidays)
        self._calendar: Container[date] | None = None
        if hours.holiday_country:
            self._calendar = _country_calendar(hours.holiday_country, hours.holiday_subdivision)

    def __contains__(self, day: object) -> bool:
        if day in self._explicit:
            return True
        return self._calendar is not None and day in self._calendar


@lru_cache(maxsize=32)
def _country_calendar(country: str, subdivision: str | None) -> Container[date]:
    import holidays

    # The holidays object fills years on demand when a date is looked up (expand=True default).
    calendar: Container[date] = holidays.country_holidays(country, subdiv=subdivision)
    return calendar


def closed_dates(hours: BusinessHours) -> Container[date]:
    """A container answering ``day in closed`` for holidays of the schedule."""
    return _Closed(hours)


class _Schedule:
    """A schedule's opening window per day in UTC, each computed once (bounded)."""

    def __init__(self, hours: BusinessHours) -> None:
        self.hours = hours
        self.zone = ZoneInfo(hours.timezone)
        self._working_days = hours.weekday_numbers()
        self._closed = closed_dates(hours)
        self._windows: dict[date, tuple[datetime, datetime] | None] = {}

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """``(opens, closes)`` of ``day`` in UTC, or ``None`` on a closed day."""
        try:
            return self._windows[day]
        except KeyError:
            pass
        found: tuple[datetime, datetime] | None = None
        if day.weekday() in self._working_days and day not in self._closed:
            hours, zone = self.hours, self.zone
            found = (datetime.combine(day, hours.start, tzinfo=zone).astimezone(UTC),
                     datetime.combine(day, hours.end, tzinfo=zone).astimezone(UTC))
        if len(self._windows) < _MAX_WINDOWS:
            self._windows[day] = found
        return found


_MAX_WINDOWS = 8192  # days remembered per schedule (about 22 years)

#: A schedule prepared once per settings object: a due time is computed per conversation, and
#: most of them fall on the same few days.
_schedule = IdentityMemo(_Schedule)


def add_business_minutes(start: datetime, minutes: int, hours: BusinessHours) -> datetime:
    """The UTC instant ``minutes`` working minutes after ``start`` under ``hours``.

    A ``start`` outside business hours begins counting at the next opening. ``minutes == 0``
    returns ``start`` moved to the next opening (or itself when open).

    :raises ValueError: for a naive ``start`` or negative ``minutes``.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    schedule = _schedule(hours)
    remaining = timedelta(minutes=minutes)
    cursor = start.astimezone(UTC)
    day = cursor.astimezone(schedule.zone).date()
    for _ in range(_MAX_DAYS):
        window = schedule.window(day)
        if window is not None:
            opens, closes = window
            cursor = max(cursor, opens)
            if cursor < closes:
                available = closes - cursor
                if remaining <= available:
                    return cursor + remaining
                remaining -= available
        day += timedelta(days=1)
    raise ValueError("no business hours found within two years: check days and holidays")
