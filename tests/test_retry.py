"""Retry-After and backoff, the one helper every client (receiver, OpenRouter client, Pages, notification) uses."""

import itertools
from datetime import UTC, datetime

from deployer.retry import backoff, parse_retry_after


def test_retry_after_reads_seconds_fractions_and_http_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("1") == 1.0 and parse_retry_after(" 3 ") == 3.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", 40.0) == 60.0  # `now` as epoch seconds
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30", now) == 30.0  # no zone: GMT, as HTTP-dates are


def test_retry_after_is_clamped_to_zero_and_the_maximum() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("86400", maximum=900) == 900.0
    assert parse_retry_after("2", maximum=900) == 2.0


def test_retry_after_that_cannot_be_read_is_none() -> None:
    for value in (None, "", "  ", "soon", "nan", "inf", "1e3", "0x10", "3 seconds"):
        assert parse_retry_after(value) is None, value


def test_backoff_grows_by_its_factor_and_is_capped() -> None:
    assert list(itertools.islice(backoff(1, 60), 8)) == [1, 2, 4, 8, 16, 32, 60, 60]
    assert list(itertools.islice(backoff(1, 5), 4)) == [1, 2, 4, 5]
    assert list(itertools.islice(backoff(0.5, 5, 1.5), 7)) == [0.5, 0.75, 1.125, 1.6875, 2.53125, 3.796875, 5]
