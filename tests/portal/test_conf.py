"""The typed environment readers of portal/conf.py; here the database URL (settings read DATABASE_URL
through it)."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.conf import env_database_url, env_rate

SQLITE = "django.db.backends.sqlite3"
POSTGRES = "django.db.backends.postgresql"


def database(monkeypatch, url: str) -> dict:
    monkeypatch.setenv("DATABASE_URL", url)
    return env_database_url("DATABASE_URL", "sqlite:///unused.sqlite3")


def test_the_default_is_used_when_the_variable_is_unset(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert env_database_url("DATABASE_URL", "sqlite:////srv/atelier/db.sqlite3") == {
        "ENGINE": SQLITE,
        "NAME": "/srv/atelier/db.sqlite3",
    }


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///var/atelier.sqlite3", "var/atelier.sqlite3"),
        ("sqlite:////srv/atelier/atelier.sqlite3", "/srv/atelier/atelier.sqlite3"),
        ("sqlite:///var/my%20db.sqlite3", "var/my db.sqlite3"),
        ("SQLITE:///atelier.sqlite3", "atelier.sqlite3"),
    ],
)
def test_a_sqlite_url_names_a_relative_or_absolute_file(monkeypatch, url, path):
    assert database(monkeypatch, url) == {"ENGINE": SQLITE, "NAME": path}


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_a_postgres_url_gives_user_password_host_port_and_name(monkeypatch, scheme):
    assert database(monkeypatch, f"{scheme}://atelier:s3cret@db.internal:5433/atelier") == {
        "ENGINE": POSTGRES,
        "NAME": "atelier",
        "USER": "atelier",
        "PASSWORD": "s3cret",
        "HOST": "db.internal",
        "PORT": 5433,
    }


def test_parts_are_percent_decoded(monkeypatch):
    config = database(monkeypatch, "postgres://us%40er:p%40ss%2Fw%3Ard@db/my%20db")
    assert (config["USER"], config["PASSWORD"], config["NAME"]) == ("us@er", "p@ss/w:rd", "my db")


def test_without_host_or_port_libpq_uses_its_defaults(monkeypatch):
    config = database(monkeypatch, "postgres:///atelier")
    assert (config["HOST"], config["PORT"], config["USER"], config["PASSWORD"]) == ("", "", "", "")


def test_a_socket_folder_or_an_ipv6_address_is_a_host(monkeypatch):
    assert database(monkeypatch, "postgres://%2Fvar%2Frun%2FPostgreSQL/atelier")["HOST"] == "/var/run/PostgreSQL"
    config = database(monkeypatch, "postgres://atelier@[::1]:5432/atelier")
    assert (config["HOST"], config["PORT"]) == ("::1", 5432)


def test_query_parameters_become_options(monkeypatch):
    config = database(
        monkeypatch, "postgres://db/atelier?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=5"
    )
    assert config["OPTIONS"] == {"sslmode": "verify-full", "sslrootcert": "/etc/ca.pem", "connect_timeout": "5"}
    assert "OPTIONS" not in database(monkeypatch, "postgres://db/atelier")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "mysql://root@localhost/atelier",
            "DATABASE_URL='mysql://root@localhost/atelier': only sqlite:// and postgres:// are supported.",
        ),
        ("var/atelier.sqlite3", "DATABASE_URL='var/atelier.sqlite3': only sqlite:// and postgres:// are supported."),
        (
            "postgres://db:port/atelier",
            "DATABASE_URL='postgres://db:port/atelier' is not a database URL: Port could not be cast",
        ),
        (
            "postgres://db:70000/atelier",
            "DATABASE_URL='postgres://db:70000/atelier' is not a database URL: Port out of range",
        ),
        (
            "postgres://db:5432",
            "DATABASE_URL='postgres://db:5432' is not a database URL: the path must be the database's name.",
        ),
        (
            "postgres://db/a/b",
            "DATABASE_URL='postgres://db/a/b' is not a database URL: the path must be the database's name.",
        ),
        ("postgres://[::1/atelier", "DATABASE_URL='postgres://[::1/atelier' is not a database URL: Invalid IPv6 URL."),
        (
            "postgres://db/atelier?sslmode",
            "DATABASE_URL='postgres://db/atelier?sslmode' is not a database URL: bad query field",
        ),
        ("sqlite://", "DATABASE_URL='sqlite://' is not a database URL: it names no database file."),
        (
            "sqlite://var/atelier.sqlite3",
            "DATABASE_URL='sqlite://var/atelier.sqlite3' is not a database URL: a SQLite URL is sqlite:///relative/path or sqlite:////absolute/path.",
        ),
    ],
)
def test_a_bad_url_stops_start_up_naming_the_variable(monkeypatch, url, message):
    with pytest.raises(ImproperlyConfigured) as refused:
        database(monkeypatch, url)
    assert str(refused.value).startswith(message)


def test_the_message_hides_the_password(monkeypatch):
    with pytest.raises(ImproperlyConfigured) as refused:
        database(monkeypatch, "postgres://atelier:s3cret@db:port/atelier")
    assert "s3cret" not in str(refused.value)
    assert "'postgres://atelier:***@db:port/atelier'" in str(refused.value)


@pytest.mark.parametrize(
    ("raw", "rate"), [("60/minute", "60/minute"), (" 5/Second ", "5/second"), ("1000/day", "1000/day")]
)
def test_a_rate_is_a_number_per_period(monkeypatch, raw, rate):
    monkeypatch.setenv("SOME_RATE", raw)
    assert env_rate("SOME_RATE", "1/hour") == rate


@pytest.mark.parametrize("raw", ["60", "0/minute", "-1/minute", "60/fortnight", "many/minute", "60/"])
def test_a_rate_that_is_not_one_stops_start_up_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("SOME_RATE", raw)
    with pytest.raises(ImproperlyConfigured, match="SOME_RATE"):
        env_rate("SOME_RATE", "1/hour")
