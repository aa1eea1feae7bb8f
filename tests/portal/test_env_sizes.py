"""Sizes in the environment (ATELIER_JOB_DISK_RESERVE): bytes, or a number with a binary unit."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.conf import env_bytes


@pytest.mark.parametrize(("raw", "expected"), [("1048576", 1048576), ("512M", 512 * 1024**2), ("2g", 2 * 1024**3)])
def test_a_size_reads_bytes_or_a_binary_unit(monkeypatch, raw, expected):
    monkeypatch.setenv("ATELIER_TEST_SIZE", raw)
    assert env_bytes("ATELIER_TEST_SIZE", 0) == expected


@pytest.mark.parametrize("raw", ["lots", "1.5G", "-3M", "12T", "M"])
def test_a_malformed_size_stops_start_up_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("ATELIER_TEST_SIZE", raw)
    with pytest.raises(ImproperlyConfigured, match="ATELIER_TEST_SIZE"):
        env_bytes("ATELIER_TEST_SIZE", 0)
