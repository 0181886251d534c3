"""Kestra's date filters and now(), with Java DateTimeFormatter patterns, pinned by Kestra's documented outputs.

Docs: https://kestra.io/docs/expressions/filters/dates
Kestra's own expected outputs for these inputs:
https://github.com/kestra-io/kestra/blob/develop/core/src/test/java/io/kestra/core/runners/pebble/filters/DateFilterTest.java
"""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from backfill_core.flows.templating import TemplateRenderError, render

# Kestra's test instant: 2013-09-08T16:19:12.123456+01:00
ZONED = datetime(2013, 9, 8, 16, 19, 12, 123456, tzinfo=timezone(timedelta(hours=1)))
SLOT = "2024-03-28T06:30:00Z"


def rendered(template: str, **variables) -> str:
    return render(template, {"zoned": ZONED, "slot": SLOT, **variables})


def test_the_partition_of_a_slot():
    assert rendered('{{ slot | date("yyyy-MM-dd") }}') == "2024-03-28"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ zoned | date(format='iso', timeZone='Europe/Paris') }}", "2013-09-08T17:19:12.123456+02:00"),
        ('{{ zoned | date(format="iso_sec", timeZone="Europe/Paris") }}', "2013-09-08T17:19:12+02:00"),
        ('{{ "July 24, 2001" | date("yyyy-MM-dd", existingFormat="MMMM dd, yyyy") }}', "2001-07-24"),
        ('{{ "2013-09-08T17:19:12+02:00" | date(timeZone="Europe/Paris") }}', "2013-09-08T17:19:12.000000+02:00"),
        ('{{ "2013-09-08T17:19:12" | date(timeZone="Europe/Paris") }}', "2013-09-08T17:19:12.000000+02:00"),
        ('{{ "2013-09-08" | date(timeZone="Europe/Paris") }}', "2013-09-08T00:00:00.000000+02:00"),
        (
            "{{ 'Tue, 08 Feb 2022 19:38:26 GMT' | date(existingFormat='rfc_1123_date_time', timeZone='Europe/Paris')}}",
            "2022-02-08T20:38:26.000000+01:00",
        ),
        ('{{ zoned | timestamp(timeZone="Europe/Paris") }}', "1378653552"),
        ('{{ zoned | timestampNano(timeZone="Europe/Paris") }}', "1378653552123456000"),
        ('{{ zoned | dateAdd(-1,"DAYS",timeZone="Europe/Paris")}}', "2013-09-07T17:19:12.123456+02:00"),
        ("{{ (zoned | timestamp) > (zoned | dateAdd(-1, 'DAYS') | timestamp) }}", "true"),
    ],
)
def test_kestra_pinned_outputs(template, expected):
    assert rendered(template) == expected


def test_timestamp_milli_and_micro_have_their_precision():
    """The docs: timestampMilli in milliseconds, timestampMicro in microseconds (an old Kestra bug gave nanos)."""
    assert rendered("{{ zoned | timestampMilli }}|{{ zoned | timestampMicro }}") == "1378653552123|1378653552123456"


def test_documented_existing_and_target_formats():
    assert rendered('{{ "2024-January-5" | date(existingFormat="yyyy-MMMM-d", format="yyyy/MMMM/d") }}') == (
        "2024/January/5"
    )


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("yyyy-MM-dd HH:mm:ss.SSS", "2024-03-28 06:30:05.123"),
        ("EEE EEEE", "Thu Thursday"),
        ("MMM MMMM M", "Mar March 3"),
        ("hh:mm a", "06:30 AM"),
        ("z XXX Z", "UTC Z +0000"),
        ("yy.D 'week' ''Q''", "24.88 week '1'"),
        ("dd/MM/yyyy", "28/03/2024"),
    ],
)
def test_java_pattern_letters(pattern, expected):
    assert rendered(f"{{{{ '2024-03-28T06:30:05.123Z' | date(\"{pattern}\") }}}}") == expected


def test_zone_letters_in_a_region():
    template = '{{ slot | date("HH:mm z XXX Z VV", timeZone="America/New_York") }}'
    assert rendered(template) == "02:30 EDT -04:00 -0400 America/New_York"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("iso", "2024-03-28T06:30:00.000000Z"),
        ("sql", "2024-03-28 06:30:00.000000"),
        ("sql_seq", "2024-03-28 06:30:00"),
        ("iso_date", "2024-03-28Z"),
        ("iso_local_date", "2024-03-28"),
        ("iso_local_date_time", "2024-03-28T06:30:00"),
        ("iso_instant", "2024-03-28T06:30:00Z"),
        ("iso_date_time", "2024-03-28T06:30:00Z[UTC]"),
        ("iso_week_date", "2024-W13-4Z"),
        ("iso_ordinal_date", "2024-088Z"),
        ("rfc_1123_date_time", "Thu, 28 Mar 2024 06:30:00 GMT"),
    ],
)
def test_kestra_named_formats(name, expected):
    assert rendered(f"{{{{ slot | date('{name}') }}}}") == expected


@pytest.mark.parametrize(
    ("amount", "unit", "expected"),
    [
        (90, "SECONDS", "2024-03-28T06:31:30"),
        (-30, "MINUTES", "2024-03-28T06:00:00"),
        (20, "HOURS", "2024-03-29T02:30:00"),
        (-1, "DAYS", "2024-03-27T06:30:00"),
        (1, "WEEKS", "2024-04-04T06:30:00"),
        (11, "MONTHS", "2025-02-28T06:30:00"),
        (-1, "YEARS", "2023-03-28T06:30:00"),
    ],
)
def test_date_add_in_chrono_units(amount, unit, expected):
    start = "2024-03-28T06:30:00Z" if unit != "MONTHS" else "2024-03-31T06:30:00Z"
    template = f"{{{{ '{start}' | dateAdd({amount}, '{unit}', format=\"yyyy-MM-dd'T'HH:mm:ss\") }}}}"
    assert rendered(template) == expected


def test_date_add_in_days_keeps_the_wall_clock_across_a_dst_change():
    template = "{{ '2024-03-30T12:00:00+01:00[Europe/Paris]' | dateAdd(1, 'DAYS', timeZone='Europe/Paris') }}"
    assert rendered(template) == "2024-03-31T12:00:00.000000+02:00"


def test_now_is_iso_in_utc_and_takes_a_zone_and_format():
    before = datetime.now(UTC)
    assert rendered("{{ now() }}")[:10] == before.strftime("%Y-%m-%d")
    assert rendered("{{ now() }}").endswith("Z")
    assert rendered('{{ now(format="iso_local_date") }}') == before.strftime("%Y-%m-%d")
    lisbon = rendered('{{ now(timeZone="Asia/Kolkata") }}')
    assert lisbon.endswith("+05:30")


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ slot | date('yyyy-qqqqqq') }}", "too many pattern letters"),
        ("{{ slot | date('w') }}", "pattern letter 'w'"),
        ("{{ slot | date('yyyy', timeZone='Mars/Olympus') }}", "unknown time zone 'Mars/Olympus'"),
        ("{{ 'yesterday' | date('yyyy') }}", "cannot read 'yesterday' as an ISO date"),
        ("{{ slot | dateAdd(1, 'FORTNIGHTS') }}", "unit 'FORTNIGHTS' is not one of"),
        ("{{ slot | dateAdd(1.5, 'DAYS') }}", "whole number"),
        ("{{ slot | dateAdd(10000000, 'YEARS') }}", "past the dates a calendar can hold"),
        ("{{ slot | date('full') }}", "localized format 'full' is not supported"),
        ("{{ '24/07/2001' | date(existingFormat='yyyy-MM-dd') }}", "does not match the format"),
    ],
)
def test_bad_dates_patterns_and_units_fail_naming_the_expression_and_the_problem(template, message):
    with pytest.raises(TemplateRenderError) as caught:
        rendered(template)
    assert message in str(caught.value)
    assert template in str(caught.value)


def test_a_null_date_stays_null():
    assert rendered("[{{ nothing | date('yyyy') }}]", nothing=None) == "[]"
