"""Tests for municipality profiles, service-desk opening hours and their wording."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from bot.core import clock
from bot import municipality as mod
from bot.core.config import PROJECT_ROOT, get_settings
from bot.municipality import (
    MunicipalityError,
    day_label,
    desk_status,
    format_date,
    format_moment,
    format_periods,
    format_special_days,
    format_week,
    load_locale,
    load_municipality,
)

SHIPPED = PROJECT_ROOT / "data" / "municipalities"
OSLO = ZoneInfo("Europe/Oslo")
STOCKHOLM = ZoneInfo("Europe/Stockholm")
LANGS = ("nn", "nb", "sv")


def oslo(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=OSLO, fold=fold)


def stockholm(*args: int) -> datetime:
    return datetime(*args, tzinfo=STOCKHOLM)


def t(text: str) -> time:
    return time.fromisoformat(text)


def periods(*ranges: str) -> list[tuple[time, time]]:
    return [(t(r.split("-")[0]), t(r.split("-")[1])) for r in ranges]


@pytest.fixture
def saltvika():
    return load_municipality("saltvika", SHIPPED)


@pytest.fixture
def storlia():
    return load_municipality("storlia", SHIPPED)


@pytest.fixture
def bjorkvalla():
    return load_municipality("bjorkvalla", SHIPPED)


# ---------------------------------------------------------------------------------------------
# Shipped profiles
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "profile_id, country, default, zone, names",
    [
        ("saltvika", "NO", "nn", "Europe/Oslo", ("Saltvika kommune", "Saltvika kommune", "Saltvika kommun")),
        ("storlia", "NO", "nb", "Europe/Oslo", ("Storlia kommune", "Storlia kommune", "Storlia kommun")),
        ("bjorkvalla", "SE", "sv", "Europe/Stockholm", ("Björkvalla kommune", "Björkvalla kommune", "Björkvalla kommun")),
    ],
)
def test_shipped_profiles_load(profile_id, country, default, zone, names):
    profile = load_municipality(profile_id, SHIPPED)

    assert profile.id == profile_id
    assert profile.country == country
    assert profile.default_language == default
    assert profile.languages[0] == default
    assert sorted(profile.languages) == sorted(LANGS)
    assert profile.timezone == zone
    assert tuple(profile.name_in(lang) for lang in LANGS) == names
    assert profile.website.startswith("https://www.")
    assert profile.meeting_calendar_url.startswith(profile.website)
    assert profile.public_records_url.startswith(profile.website)
    assert profile.email.endswith(".kommune.no" if country == "NO" else ".se")
    assert profile.phone and profile.duty_phone and profile.address
    assert profile.weekly_hours[5] == () and profile.weekly_hours[6] == ()


def test_saltvika_contact_details(saltvika):
    assert saltvika.email == "postmottak@saltvika.kommune.no"
    assert saltvika.website == "https://www.saltvika.kommune.no"
    assert saltvika.phone == "57 69 40 00"


def test_name_in_falls_back_to_default_language(tmp_path):
    write_profile(tmp_path, languages="[nn, nb]", name="{nn: Testvik kommune, nb: Testvik kommune}")
    profile = load_municipality("testvik", tmp_path)

    assert profile.name_in("sv") == "Testvik kommune"


def test_load_uses_settings_and_caches(monkeypatch):
    monkeypatch.setenv("MUNICIPALITY", "storlia")
    monkeypatch.setenv("MUNICIPALITIES_DIR", str(SHIPPED))
    get_settings.cache_clear()
    try:
        first = load_municipality()
        assert first.id == "storlia"
        assert load_municipality() is first
        assert load_municipality("storlia", SHIPPED) is first
        mod.clear_cache()
        assert load_municipality() is not first
    finally:
        get_settings.cache_clear()


def test_bare_no_and_bare_times_are_read_as_written(tmp_path):
    # Plain YAML 1.1 would read NO as false and 12:00 as the number 720.
    write_profile(tmp_path, country="NO", lunch="{start: 12:00, end: 12:30}")
    profile = load_municipality("testvik", tmp_path)

    assert profile.country == "NO"
    assert profile.periods_on(date(2026, 3, 2)) == periods("08:00-12:00", "12:30-15:30")


# ---------------------------------------------------------------------------------------------
# Regular hours, lunch, weekends
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment, expected",
    [
        (oslo(2026, 3, 2, 7, 59), False),
        (oslo(2026, 3, 2, 8, 0), True),
        (oslo(2026, 3, 2, 15, 29), True),
        (oslo(2026, 3, 2, 15, 30), False),
        (oslo(2026, 3, 6, 15, 29, 59), True),  # Friday
        (oslo(2026, 3, 7, 10, 0), False),  # Saturday
        (oslo(2026, 3, 8, 10, 0), False),  # Sunday
        (datetime(2026, 3, 2, 7, 0, tzinfo=timezone.utc), True),  # 08:00 in Oslo
        (datetime(2026, 3, 2, 6, 59, tzinfo=timezone.utc), False),
    ],
)
def test_saltvika_weekday_boundaries(saltvika, moment, expected):
    assert saltvika.is_open(moment) is expected


@pytest.mark.parametrize(
    "moment, expected",
    [
        (oslo(2026, 3, 3, 11, 29), True),
        (oslo(2026, 3, 3, 11, 30), False),
        (oslo(2026, 3, 3, 11, 59), False),
        (oslo(2026, 3, 3, 12, 0), True),
        (oslo(2026, 3, 5, 17, 59), True),  # long Thursday
        (oslo(2026, 3, 5, 18, 0), False),
        (oslo(2026, 3, 6, 15, 30), False),
    ],
)
def test_storlia_lunch_and_long_thursday(storlia, moment, expected):
    assert storlia.is_open(moment) is expected


def test_storlia_periods(storlia):
    assert storlia.periods_on(date(2026, 3, 3)) == periods("08:00-11:30", "12:00-15:30")
    assert storlia.periods_on(date(2026, 3, 5)) == periods("08:00-11:30", "12:00-18:00")
    assert storlia.periods_on(date(2026, 3, 7)) == []


def test_closes_at_and_next_opening_around_lunch(storlia):
    assert storlia.closes_at(oslo(2026, 3, 3, 10, 0)) == oslo(2026, 3, 3, 11, 30)
    assert storlia.closes_at(oslo(2026, 3, 3, 11, 45)) is None
    assert storlia.next_opening(oslo(2026, 3, 3, 11, 45)) == oslo(2026, 3, 3, 12, 0)
    # While open, the next opening is the one after the current period.
    assert storlia.next_opening(oslo(2026, 3, 3, 10, 0)) == oslo(2026, 3, 3, 12, 0)
    assert storlia.next_opening(oslo(2026, 3, 3, 13, 0)) == oslo(2026, 3, 4, 8, 0)


@pytest.mark.parametrize(
    "moment, expected",
    [
        (stockholm(2026, 3, 2, 11, 59), True),
        (stockholm(2026, 3, 2, 12, 0), False),
        (stockholm(2026, 3, 2, 12, 59), False),
        (stockholm(2026, 3, 2, 13, 0), True),
        (stockholm(2026, 3, 5, 16, 29), True),  # Thursday
        (stockholm(2026, 3, 6, 14, 59), True),  # Friday closes at 15.00
        (stockholm(2026, 3, 6, 15, 0), False),
        (stockholm(2026, 3, 7, 10, 0), False),
    ],
)
def test_bjorkvalla_hours(bjorkvalla, moment, expected):
    assert bjorkvalla.is_open(moment) is expected


def test_closes_at(saltvika):
    closing = saltvika.closes_at(oslo(2026, 3, 2, 10, 0))

    assert closing == oslo(2026, 3, 2, 15, 30)
    assert closing.tzinfo == OSLO
    assert saltvika.closes_at(oslo(2026, 3, 2, 16, 0)) is None


def test_naive_moment_is_refused(saltvika):
    with pytest.raises(ValueError, match="timezone-aware"):
        saltvika.is_open(datetime(2026, 3, 2, 10, 0))


# ---------------------------------------------------------------------------------------------
# Holidays and special days
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day, holiday, nn_name",
    [
        (date(2028, 5, 17), "Constitution Day", "grunnlovsdagen"),  # a Wednesday
        (date(2026, 4, 2), "Maundy Thursday", "skjærtorsdag"),
        (date(2026, 4, 3), "Good Friday", "langfredag"),
        (date(2026, 4, 6), "Easter Monday", "andre påskedag"),
        (date(2026, 5, 14), "Ascension Day", "Kristi himmelfartsdag"),
        (date(2026, 5, 25), "Whit Monday", "andre pinsedag"),
        (date(2026, 1, 1), "New Year's Day", "første nyttårsdag"),
        (date(2026, 12, 25), "Christmas Day", "første juledag"),
    ],
)
def test_norwegian_public_holidays_are_closed(saltvika, storlia, day, holiday, nn_name):
    for profile in (saltvika, storlia):
        info = profile.day_info(day)
        assert info.periods == ()
        assert info.holidays == (holiday,)
        assert day_label("nn", info) == nn_name
        assert profile.is_open(datetime.combine(day, time(10, 0), tzinfo=OSLO)) is False


def test_two_holidays_on_one_day(saltvika):
    info = saltvika.day_info(date(2027, 5, 17))

    assert info.holidays == ("Constitution Day", "Whit Monday")
    assert day_label("nn", info) == "grunnlovsdagen og andre pinsedag"
    assert day_label("sv", info) == "Norges nationaldag och annandag pingst"


@pytest.mark.parametrize(
    "day, lang, label",
    [(date(2026, 12, 24), "nn", "julaftan"), (date(2026, 12, 24), "sv", "julafton"), (date(2026, 12, 31), "nb", "nyttårsaften")],
)
def test_norwegian_christmas_and_new_years_eve_closed_by_special_day(saltvika, day, lang, label):
    info = saltvika.day_info(day)

    assert info.holidays == ()  # not a public holiday in Norway ...
    assert info.periods == ()  # ... but the profile closes the desk
    assert day_label(lang, info) == label
    assert saltvika.periods_on(date(2026, 12, 23)) == periods("08:00-15:30")


def test_wednesday_before_easter_is_short(saltvika, storlia):
    assert saltvika.periods_on(date(2026, 4, 1)) == periods("08:00-12:00")
    # Special-day hours are exactly as written: no lunch is taken out.
    assert storlia.periods_on(date(2026, 4, 1)) == periods("08:00-12:00")
    assert saltvika.periods_on(date(2025, 4, 16)) == periods("08:00-12:00")
    assert saltvika.periods_on(date(2026, 3, 25)) == periods("08:00-15:30")


def test_summer_hours(saltvika, bjorkvalla):
    assert saltvika.periods_on(date(2026, 6, 30)) == periods("08:00-15:30")
    assert saltvika.periods_on(date(2026, 7, 1)) == periods("08:00-15:00")
    assert saltvika.periods_on(date(2026, 8, 14)) == periods("08:00-15:00")
    assert saltvika.periods_on(date(2026, 8, 15)) == []  # a Saturday: seasons only change open days
    assert saltvika.periods_on(date(2026, 8, 17)) == periods("08:00-15:30")
    assert bjorkvalla.periods_on(date(2026, 7, 3)) == periods("08:00-12:00", "13:00-15:00")


def test_specific_date_special_day(storlia):
    info = storlia.day_info(date(2027, 9, 13))

    assert info.periods == tuple(periods("08:00-11:30", "12:00-20:00"))
    assert day_label("nb", info) == "kommunestyrevalget"
    assert storlia.periods_on(date(2028, 9, 13)) == periods("08:00-11:30", "12:00-15:30")


@pytest.mark.parametrize(
    "day, holiday, sv_name",
    [
        (date(2026, 6, 19), "Midsummer Eve", "midsommarafton"),
        (date(2026, 12, 24), "Christmas Eve", "julafton"),
        (date(2025, 12, 31), "New Year's Eve", "nyårsafton"),
        (date(2026, 4, 3), "Good Friday", "långfredagen"),
        (date(2026, 4, 6), "Easter Monday", "annandag påsk"),
        (date(2026, 5, 14), "Ascension Day", "Kristi himmelsfärdsdag"),
        (date(2025, 6, 6), "National Day", "nationaldagen"),
        (date(2026, 1, 6), "Epiphany", "trettondedag jul"),
    ],
)
def test_swedish_holidays_are_closed(bjorkvalla, day, holiday, sv_name):
    info = bjorkvalla.day_info(day)

    assert info.periods == ()
    assert holiday in info.holidays
    assert day_label("sv", info) == sv_name
    assert bjorkvalla.is_open(datetime.combine(day, time(10, 0), tzinfo=STOCKHOLM)) is False


@pytest.mark.parametrize(
    "day, hours",
    [
        (date(2026, 4, 2), "08:00-12:00"),  # skärtorsdag: a working day in Sweden, but short
        (date(2026, 4, 30), "08:00-12:00"),  # Valborgsmässoafton
        (date(2026, 5, 13), "08:00-12:00"),  # day before Ascension Day
        (date(2026, 5, 15), "08:00-12:00"),  # klämdag
        (date(2026, 1, 5), "08:00-12:00"),  # trettondagsafton
    ],
)
def test_swedish_short_days(bjorkvalla, day, hours):
    assert bjorkvalla.periods_on(day) == periods(hours)


def test_swedish_sundays_are_not_reported_as_holidays(bjorkvalla):
    # holidays 0.86 marks every Swedish Sunday as a holiday by default.
    assert bjorkvalla.day_info(date(2026, 3, 8)).holidays == ()
    assert bjorkvalla.day_info(date(2026, 4, 5)).holidays == ("Easter Sunday",)
    assert bjorkvalla.upcoming_special_days(stockholm(2026, 3, 2, 9, 0)) == []


def test_valborg_on_a_saturday_does_not_open_the_desk(bjorkvalla):
    assert date(2022, 4, 30).weekday() == 5
    assert bjorkvalla.periods_on(date(2022, 4, 30)) == []


def test_holiday_names_are_translated_in_every_locale():
    import holidays

    names = set()
    for country in ("NO", "SE"):
        for year in range(2024, 2032):
            calendar = holidays.country_holidays(country, years=year, language="en_US")
            names.update(name for day in calendar for name in calendar.get_list(day))
    names.discard("Sunday")
    names |= {"Midsummer Eve", "Christmas Eve", "New Year's Eve"}
    for lang in LANGS:
        missing = names - set(load_locale(lang).holiday_names)
        assert not missing, f"{lang}: {missing}"


# ---------------------------------------------------------------------------------------------
# Next opening
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "now, expected",
    [
        (oslo(2026, 3, 6, 17, 0), oslo(2026, 3, 9, 8, 0)),  # Friday evening -> Monday
        (oslo(2026, 3, 7, 12, 0), oslo(2026, 3, 9, 8, 0)),  # Saturday
        (oslo(2026, 3, 2, 7, 0), oslo(2026, 3, 2, 8, 0)),  # before opening -> today
        (oslo(2026, 3, 2, 8, 0), oslo(2026, 3, 3, 8, 0)),  # strictly after now
        (oslo(2026, 3, 2, 10, 0), oslo(2026, 3, 3, 8, 0)),  # open -> next day's opening
        (oslo(2026, 5, 13, 16, 0), oslo(2026, 5, 15, 8, 0)),  # before Ascension Day
        (oslo(2027, 5, 14, 16, 0), oslo(2027, 5, 18, 8, 0)),  # Friday before 17 May (Monday)
        (oslo(2026, 3, 31, 16, 0), oslo(2026, 4, 1, 8, 0)),  # Easter: Wednesday is short ...
        (oslo(2026, 4, 1, 12, 0), oslo(2026, 4, 7, 8, 0)),  # ... then closed to Tuesday
        (oslo(2026, 12, 23, 16, 0), oslo(2026, 12, 28, 8, 0)),  # Christmas
        (oslo(2026, 12, 30, 16, 0), oslo(2027, 1, 4, 8, 0)),  # New Year
    ],
)
def test_saltvika_next_opening(saltvika, now, expected):
    opening = saltvika.next_opening(now)

    assert opening == expected
    assert opening.tzinfo == OSLO
    assert opening.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    "now, expected",
    [
        (stockholm(2026, 4, 2, 12, 30), stockholm(2026, 4, 7, 8, 0)),  # Swedish Easter
        (stockholm(2026, 6, 18, 17, 0), stockholm(2026, 6, 22, 8, 0)),  # Midsummer Eve
        (stockholm(2026, 12, 23, 17, 0), stockholm(2026, 12, 28, 8, 0)),  # Christmas Eve
        (stockholm(2026, 3, 2, 12, 15), stockholm(2026, 3, 2, 13, 0)),  # lunch
    ],
)
def test_bjorkvalla_next_opening(bjorkvalla, now, expected):
    assert bjorkvalla.next_opening(now) == expected


@pytest.mark.parametrize(
    "now",
    [
        oslo(2026, 3, 27, 16, 0),  # Friday before the spring change (CET)
        oslo(2026, 3, 29, 1, 30),  # just before 02:00 -> 03:00
        datetime(2026, 3, 29, 1, 0, tzinfo=timezone.utc),  # the change itself
        oslo(2026, 3, 29, 3, 30),  # just after (CEST)
    ],
)
def test_next_opening_over_spring_dst_change(saltvika, now):
    opening = saltvika.next_opening(now)

    assert (opening.date(), opening.hour, opening.minute) == (date(2026, 3, 30), 8, 0)
    assert opening.utcoffset() == timedelta(hours=2)
    assert opening.astimezone(timezone.utc) == datetime(2026, 3, 30, 6, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "now",
    [
        oslo(2026, 10, 23, 16, 0),  # Friday before the autumn change (CEST)
        oslo(2026, 10, 25, 2, 30, fold=0),  # first 02:30 (CEST)
        oslo(2026, 10, 25, 2, 30, fold=1),  # second 02:30 (CET)
        oslo(2026, 10, 25, 12, 0),
    ],
)
def test_next_opening_over_autumn_dst_change(saltvika, now):
    opening = saltvika.next_opening(now)

    assert (opening.date(), opening.hour, opening.minute) == (date(2026, 10, 26), 8, 0)
    assert opening.utcoffset() == timedelta(hours=1)
    assert opening.astimezone(timezone.utc) == datetime(2026, 10, 26, 7, 0, tzinfo=timezone.utc)


def test_is_open_right_after_dst_change(saltvika):
    # 06:00 UTC is 08:00 in Oslo on the first Monday of summer time, 07:00 a week earlier.
    assert saltvika.is_open(datetime(2026, 3, 30, 6, 0, tzinfo=timezone.utc)) is True
    assert saltvika.is_open(datetime(2026, 3, 30, 5, 59, tzinfo=timezone.utc)) is False
    assert saltvika.is_open(datetime(2026, 3, 23, 6, 30, tzinfo=timezone.utc)) is False
    assert saltvika.is_open(datetime(2026, 10, 26, 7, 0, tzinfo=timezone.utc)) is True
    assert saltvika.is_open(datetime(2026, 10, 26, 6, 59, tzinfo=timezone.utc)) is False


def test_stockholm_dst(bjorkvalla):
    opening = bjorkvalla.next_opening(stockholm(2026, 3, 27, 17, 0))

    assert opening.astimezone(timezone.utc) == datetime(2026, 3, 30, 6, 0, tzinfo=timezone.utc)
    assert opening.hour == 8


def test_next_opening_none_when_closed_beyond_horizon(tmp_path):
    write_profile(tmp_path, special_days='[{from: "2026-01-01", to: "2026-06-30", hours: closed}]')
    profile = load_municipality("testvik", tmp_path)

    assert profile.next_opening(oslo(2026, 1, 5, 9, 0)) is None
    assert profile.next_opening(oslo(2026, 1, 5, 9, 0), within_days=200) == oslo(2026, 7, 1, 8, 0)
    assert desk_status(profile, "nn", oslo(2026, 1, 5, 9, 0)).next_opening == ""


# ---------------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lang, ranges, expected",
    [
        ("nn", ("08:00-15:30",), "08:00–15:30"),
        ("nb", ("08:00-15:30",), "08:00–15:30"),
        ("sv", ("08:00-15:30",), "08.00–15.30"),
        ("nn", ("08:00-11:30", "12:00-15:30"), "08:00–11:30 og 12:00–15:30"),
        ("nb", ("08:00-11:30", "12:00-15:30"), "08:00–11:30 og 12:00–15:30"),
        ("sv", ("08:00-12:00", "13:00-16:30"), "08.00–12.00 och 13.00–16.30"),
        ("nn", ("08:00-10:00", "11:00-12:00", "13:00-14:00"), "08:00–10:00, 11:00–12:00 og 13:00–14:00"),
        ("sv", ("08:00-10:00", "11:00-12:00", "13:00-14:00"), "08.00–10.00, 11.00–12.00 och 13.00–14.00"),
        ("nn", (), "stengt"),
        ("nb", (), "stengt"),
        ("sv", (), "stängt"),
    ],
)
def test_format_periods(lang, ranges, expected):
    assert format_periods(lang, periods(*ranges)) == expected


@pytest.mark.parametrize(
    "lang, expected",
    [
        ("nn", "måndag–fredag 08:00–15:30; laurdag–sundag stengt"),
        ("nb", "mandag–fredag 08:00–15:30; lørdag–søndag stengt"),
        ("sv", "måndag–fredag 08.00–15.30; lördag–söndag stängt"),
    ],
)
def test_format_week_saltvika(saltvika, lang, expected):
    assert format_week(lang, saltvika, date(2026, 3, 2)) == expected
    # Holidays are special days, not part of the week's regular hours.
    assert format_week(lang, saltvika, date(2026, 3, 30)) == expected


def test_format_week_storlia_and_bjorkvalla(storlia, bjorkvalla):
    assert format_week("nb", storlia, date(2026, 3, 2)) == (
        "mandag–onsdag 08:00–11:30 og 12:00–15:30; torsdag 08:00–11:30 og 12:00–18:00; "
        "fredag 08:00–11:30 og 12:00–15:30; lørdag–søndag stengt"
    )
    assert format_week("sv", bjorkvalla, date(2026, 3, 2)) == (
        "måndag–torsdag 08.00–12.00 och 13.00–16.30; fredag 08.00–12.00 och 13.00–15.00; lördag–söndag stängt"
    )


def test_format_week_shows_a_season_starting(saltvika):
    assert format_week("nn", saltvika, date(2026, 6, 29)) == (
        "måndag–tysdag 08:00–15:30; onsdag–fredag 08:00–15:00; laurdag–sundag stengt"
    )


@pytest.mark.parametrize(
    "lang, today, tomorrow, day_after, later",
    [
        ("nn", "i dag kl. 12:00", "i morgon kl. 08:00", "i overmorgon kl. 08:00", "tysdag 2. januar kl. 08:00"),
        ("nb", "i dag kl. 12:00", "i morgen kl. 08:00", "i overmorgen kl. 08:00", "tirsdag 2. januar kl. 08:00"),
        ("sv", "i dag kl. 12.00", "i morgon kl. 08.00", "i övermorgon kl. 08.00", "tisdag 2 januari kl. 08.00"),
    ],
)
def test_format_moment(lang, today, tomorrow, day_after, later):
    now = oslo(2023, 12, 29, 10, 0)

    assert format_moment(lang, oslo(2023, 12, 29, 12, 0), now) == today
    assert format_moment(lang, oslo(2023, 12, 30, 8, 0), now) == tomorrow
    assert format_moment(lang, oslo(2023, 12, 31, 8, 0), now) == day_after
    assert format_moment(lang, oslo(2024, 1, 2, 8, 0), now) == later


def test_format_moment_compares_days_in_the_moments_zone():
    # 23:30 UTC on 1 January is already 2 January in Oslo.
    now = datetime(2024, 1, 1, 23, 30, tzinfo=timezone.utc)

    assert format_moment("nn", oslo(2024, 1, 2, 8, 0), now) == "i dag kl. 08:00"


@pytest.mark.parametrize(
    "lang, expected",
    [("nn", "sundag 17. mai"), ("nb", "søndag 17. mai"), ("sv", "söndag 17 maj")],
)
def test_format_date(lang, expected):
    assert format_date(lang, date(2026, 5, 17)) == expected


@pytest.mark.parametrize(
    "lang, expected",
    [
        ("nn", "onsdag 16. april: 08:00–12:00; torsdag 17. april: stengt; fredag 18. april: stengt; måndag 21. april: stengt"),
        ("nb", "onsdag 16. april: 08:00–12:00; torsdag 17. april: stengt; fredag 18. april: stengt; mandag 21. april: stengt"),
        ("sv", "onsdag 16 april: 08.00–12.00; torsdag 17 april: stängt; fredag 18 april: stängt; måndag 21 april: stängt"),
    ],
)
def test_upcoming_special_days_easter_2025(saltvika, lang, expected):
    days = saltvika.upcoming_special_days(oslo(2025, 4, 14, 9, 0))

    assert [info.day for info in days] == [date(2025, 4, 16), date(2025, 4, 17), date(2025, 4, 18), date(2025, 4, 21)]
    assert format_special_days(lang, days) == expected


def test_special_days_with_labels(saltvika, bjorkvalla):
    days = saltvika.upcoming_special_days(oslo(2025, 4, 14, 9, 0), days=4)
    assert format_special_days("nn", days, labels=True) == (
        "onsdag 16. april (onsdag før skjærtorsdag): 08:00–12:00; torsdag 17. april (skjærtorsdag): stengt"
    )
    days = bjorkvalla.upcoming_special_days(stockholm(2026, 6, 15, 9, 0), days=7)
    assert format_special_days("sv", days, labels=True) == "fredag 19 juni (midsommarafton): stängt"


def test_upcoming_special_days_skips_holidays_on_closed_days(saltvika):
    # 17 May 2026 is a Sunday; Ascension Day (14 May) and Whit Monday (25 May) are weekdays.
    days = saltvika.upcoming_special_days(oslo(2026, 5, 12, 9, 0), days=14)

    assert [info.day for info in days] == [date(2026, 5, 14), date(2026, 5, 25)]


def test_upcoming_special_days_leaves_out_a_season(saltvika):
    assert saltvika.upcoming_special_days(oslo(2026, 7, 6, 9, 0)) == []


# ---------------------------------------------------------------------------------------------
# Desk status
# ---------------------------------------------------------------------------------------------


def test_desk_status_open_before_easter_nb(saltvika):
    status = desk_status(saltvika, "nb", oslo(2026, 3, 31, 10, 0))

    assert status.open_now is True
    assert status.today_hours == "08:00–15:30"
    assert status.closes_at == "i dag kl. 15:30"
    assert status.next_opening == "i morgen kl. 08:00"
    assert status.week_hours == "mandag–fredag 08:00–15:30; lørdag–søndag stengt"
    assert status.special_days == (
        "onsdag 1. april: 08:00–12:00; torsdag 2. april: stengt; fredag 3. april: stengt; mandag 6. april: stengt"
    )


def test_desk_status_closed_friday_evening_nn(saltvika):
    status = desk_status(saltvika, "nn", oslo(2026, 3, 6, 17, 0))

    assert status.open_now is False
    assert status.closes_at is None
    assert status.today_hours == "08:00–15:30"
    assert status.next_opening == "måndag 9. mars kl. 08:00"
    assert status.special_days == ""


def test_desk_status_swedish_midsummer(bjorkvalla):
    status = desk_status(bjorkvalla, "sv", stockholm(2026, 6, 18, 12, 30))

    assert status.open_now is False
    assert status.today_hours == "08.00–12.00 och 13.00–16.30"
    assert status.next_opening == "i dag kl. 13.00"
    assert status.week_hours == (
        "måndag–torsdag 08.00–12.00 och 13.00–16.30; fredag 08.00–12.00 och 13.00–15.00; lördag–söndag stängt"
    )
    assert status.special_days.startswith("fredag 19 juni: stängt")


def test_desk_status_uses_the_clock(saltvika, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 3, 2, 13, 0, tzinfo=timezone.utc))

    status = desk_status(saltvika, "sv")

    assert status.open_now is True
    assert status.closes_at == "i dag kl. 15.30"


def test_desk_status_with_frozen_real_clock(saltvika, monkeypatch):
    monkeypatch.delenv("BOT_CLOCK", raising=False)
    get_settings.cache_clear()
    try:
        with freeze_time("2026-03-07T09:00:00Z"):  # a Saturday
            status = desk_status(saltvika, "nn")
    finally:
        get_settings.cache_clear()

    assert status.open_now is False
    assert status.today_hours == "stengt"
    assert status.next_opening == "i overmorgon kl. 08:00"


# ---------------------------------------------------------------------------------------------
# Malformed profiles
# ---------------------------------------------------------------------------------------------

PROFILE_TEMPLATE = """\
id: {id}
name: {name}
country: {country}
languages: {languages}
default_language: {default_language}
timezone: {timezone}
phone: "57 00 00 00"
email: {email}
address: Testvegen 1, 6999 Testvik
website: {website}
duty_phone: "57 00 00 99"
meeting_calendar_url: https://www.testvik.kommune.no/motekalender
public_records_url: https://www.testvik.kommune.no/postliste
opening_hours:
  monday: {monday}
  tuesday: 08:00-15:30
  wednesday: 08:00-15:30
  thursday: 08:00-15:30
  friday: 08:00-15:30
  saturday: {saturday}
  sunday: closed
"""

DEFAULTS = dict(
    id="testvik",
    name="{nn: Testvik kommune, nb: Testvik kommune, sv: Testviks kommun}",
    country='"NO"',
    languages="[nn, nb, sv]",
    default_language="nn",
    timezone="Europe/Oslo",
    email="postmottak@testvik.kommune.no",
    website="https://www.testvik.kommune.no",
    monday="08:00-15:30",
    saturday="closed",
)


def write_profile(directory: Path, drop: str = "", file_id: str = "testvik", lunch: str = "", special_days: str = "", **values) -> Path:
    text = PROFILE_TEMPLATE.format(**{**DEFAULTS, **values})
    if lunch:
        text += f"lunch: {lunch}\n"
    if special_days:
        text += f"special_days: {special_days}\n"
    if drop:
        kept, dropping = [], False
        for line in text.splitlines():
            if not line.startswith(" "):
                dropping = line.startswith(f"{drop}:")
            if not dropping:
                kept.append(line)
        text = "\n".join(kept) + "\n"
    path = directory / f"{file_id}.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_template_profile_is_valid(tmp_path):
    write_profile(tmp_path)

    assert load_municipality("testvik", tmp_path).periods_on(date(2026, 3, 2)) == periods("08:00-15:30")


@pytest.mark.parametrize(
    "changes, field, words",
    [
        (dict(drop="email"), "email", "missing"),
        (dict(drop="opening_hours"), "opening_hours", "missing"),
        (dict(monday="8:00-"), "opening_hours.monday", "'8:00-' is not a time range like 08:00-15:30"),
        (dict(monday="08:00-25:00"), "opening_hours.monday", "not a time of day"),
        (dict(monday="15:30-08:00"), "opening_hours.monday", "closes before it opens"),
        (dict(monday="12:00-15:30, 08:00-11:30"), "opening_hours.monday", "in order"),
        (dict(saturday="sometimes"), "opening_hours.saturday", "not a time range"),
        (dict(languages="[nn, nb]", name="{nn: Testvik, nb: Testvik}", default_language="sv"), "default_language", "not one of the offered languages"),
        (dict(languages="[nn, en]", name="{nn: Testvik, en: Testvik}"), "languages[1]", "'en' is not a supported language"),
        (dict(name="{nn: Testvik, nb: Testvik}"), "name.sv", "missing"),
        (dict(country="DK"), "country", "'DK' is not a supported country"),
        (dict(timezone="Europe/Bergen"), "timezone", "not a time zone"),
        (dict(email="postmottak.testvik.no"), "email", "does not look like an e-mail address"),
        (dict(website="www.testvik.kommune.no"), "website", "starting with https://"),
        (dict(id="saltvik"), "id", "does not match the file name"),
        (dict(lunch="{start: '16:00', end: '16:30'}"), "lunch", "not inside the opening hours on monday"),
        (dict(lunch="{start: '12:30', end: '12:00'}"), "lunch", "before it starts"),
        (dict(special_days='[{date: "13-45", hours: closed}]'), "special_days[0].date", "not a real date"),
        (dict(special_days='[{date: "24.12", hours: closed}]'), "special_days[0].date", "not a date like"),
        (dict(special_days='[{date: "12-24", easter: 1, hours: closed}]'), "special_days[0]", "exactly one of"),
        (dict(special_days='[{easter: soon, hours: closed}]'), "special_days[0].easter", "number of days from Easter"),
        (dict(special_days='[{date: "12-24"}]'), "special_days[0].hours", "missing"),
        (dict(special_days='[{date: "12-24", hours: "9-12"}]'), "special_days[0].hours", "not a time of day"),
        (dict(special_days='[{from: "07-01", hours: closed}]'), "special_days[0].to", "needs both from and to"),
        (dict(special_days='[{date: "12-24", hours: closed, label: {nn: julaftan}}]'), "special_days[0].label.nb", "missing"),
    ],
)
def test_malformed_profile_names_file_and_field(tmp_path, changes, field, words):
    path = write_profile(tmp_path, **changes)

    with pytest.raises(MunicipalityError) as caught:
        load_municipality("testvik", tmp_path)

    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert f"{field}: " in message
    assert words in message
    assert any(problem_field == field for problem_field, _ in caught.value.problems)


def test_brief_example_message_exactly(tmp_path):
    path = write_profile(tmp_path, monday="8:00-")

    with pytest.raises(MunicipalityError) as caught:
        load_municipality("testvik", tmp_path)

    assert str(caught.value) == f"{path}: opening_hours.monday: '8:00-' is not a time range like 08:00-15:30"


def test_unknown_field_suggests_the_right_one(tmp_path):
    path = write_profile(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace("website:", "websites:"), encoding="utf-8")

    with pytest.raises(MunicipalityError) as caught:
        load_municipality("testvik", tmp_path)

    message = str(caught.value)
    assert "websites: unknown field – did you mean website?" in message
    assert "website: missing" in message


def test_several_problems_are_reported_together(tmp_path):
    path = write_profile(tmp_path, country="DK", email="nobody")

    with pytest.raises(MunicipalityError) as caught:
        load_municipality("testvik", tmp_path)

    assert str(caught.value).startswith(f"{path}: 2 problems:\n")
    assert [field for field, _ in caught.value.problems] == ["country", "email"]


def test_invalid_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "testvik.yml"
    path.write_text("id: testvik\nname: [Testvik\ncountry: \"NO\"\n", encoding="utf-8")

    with pytest.raises(MunicipalityError, match="not valid YAML") as caught:
        load_municipality("testvik", tmp_path)

    assert str(caught.value).startswith(f"{path}: line ")


@pytest.mark.parametrize("content", ["", "- just\n- a list\n"])
def test_empty_or_list_profile(tmp_path, content):
    (tmp_path / "testvik.yml").write_text(content, encoding="utf-8")

    with pytest.raises(MunicipalityError, match="expected fields such as id"):
        load_municipality("testvik", tmp_path)


def test_missing_profile_lists_known_ones(tmp_path):
    write_profile(tmp_path)

    with pytest.raises(MunicipalityError) as caught:
        load_municipality("nowhere", tmp_path)

    assert str(caught.value) == f"{tmp_path / 'nowhere.yml'}: no profile for municipality 'nowhere'; known profiles: testvik"


def test_profile_id_cannot_leave_the_folder(tmp_path):
    with pytest.raises(MunicipalityError, match="not a profile id"):
        load_municipality("../secrets", tmp_path)


def test_error_paths_inside_the_project_are_relative():
    error = MunicipalityError(PROJECT_ROOT / "data" / "municipalities" / "x.yml", [("email", "is empty")])

    assert str(error) == "data/municipalities/x.yml: email: is empty"
    assert isinstance(error, ValueError)


def test_a_fixed_profile_loads_after_an_error(tmp_path):
    write_profile(tmp_path, monday="8:00-")
    with pytest.raises(MunicipalityError):
        load_municipality("testvik", tmp_path)

    write_profile(tmp_path)
    assert load_municipality("testvik", tmp_path).id == "testvik"


# ---------------------------------------------------------------------------------------------
# Special-day rules on a made-up profile
# ---------------------------------------------------------------------------------------------


def test_specific_date_opens_a_normally_closed_day_but_not_a_holiday(tmp_path):
    write_profile(
        tmp_path,
        special_days='[{date: "2026-09-12", hours: "10:00-14:00"}, {date: "2026-05-17", hours: "10:00-14:00"},'
        ' {date: "2026-12-25", hours: "10:00-14:00"}]',
    )
    profile = load_municipality("testvik", tmp_path)

    assert profile.periods_on(date(2026, 9, 12)) == periods("10:00-14:00")  # a Saturday
    assert profile.periods_on(date(2026, 5, 17)) == []  # holiday wins
    assert profile.periods_on(date(2026, 12, 25)) == []


def test_season_over_new_year_and_single_day_precedence(tmp_path):
    write_profile(
        tmp_path,
        special_days='[{from: "12-28", to: "01-02", hours: "09:00-12:00"}, {date: "12-30", hours: closed}]',
    )
    profile = load_municipality("testvik", tmp_path)

    assert profile.periods_on(date(2026, 12, 28)) == periods("09:00-12:00")
    assert profile.periods_on(date(2026, 12, 29)) == periods("09:00-12:00")
    assert profile.periods_on(date(2026, 12, 30)) == []  # the single day beats the season
    assert profile.periods_on(date(2027, 1, 1)) == []  # New Year's Day
    assert profile.periods_on(date(2027, 1, 4)) == periods("08:00-15:30")


def test_lunch_limited_to_some_days(tmp_path):
    write_profile(tmp_path, lunch="{start: '11:00', end: '11:30', days: [monday, friday]}")
    profile = load_municipality("testvik", tmp_path)

    assert profile.periods_on(date(2026, 3, 2)) == periods("08:00-11:00", "11:30-15:30")
    assert profile.periods_on(date(2026, 3, 3)) == periods("08:00-15:30")
    assert profile.periods_on(date(2026, 3, 6)) == periods("08:00-11:00", "11:30-15:30")


def test_swedish_date_style_and_list_of_ranges_accepted(tmp_path):
    write_profile(tmp_path, monday="[08.00–11.30, 12.00–15.30]")
    profile = load_municipality("testvik", tmp_path)

    assert profile.periods_on(date(2026, 3, 2)) == periods("08:00-11:30", "12:00-15:30")


# ---------------------------------------------------------------------------------------------
# Locale files
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_shipped_locales_are_complete(lang):
    locale = load_locale(lang)

    assert len(locale.weekdays) == 7 and len(locale.months) == 12
    assert locale.words["dash"] == "–"


def test_broken_locale_names_file_and_field(tmp_path):
    text = (mod.LOCALE_DIR / "nn.yml").read_text(encoding="utf-8")
    text = text.replace("weekdays: [måndag, tysdag,", "weekdays: [tysdag,").replace('time: "{hour}:{minute}"', 'time: "{hours}"')
    path = tmp_path / "nn.yml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(MunicipalityError) as caught:
        load_locale("nn", tmp_path)

    assert str(caught.value).startswith(f"{path}: 2 problems:")
    assert [field for field, _ in caught.value.problems] == ["weekdays", "time"]
    assert "{hour}, {minute}" in str(caught.value)


def test_unsupported_language_is_refused():
    with pytest.raises(MunicipalityError, match="'en' is not a supported language"):
        format_periods("en", [])
