"""Typed readers for environment variables: a bad value stops start-up with a message naming the variable."""

import os
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use one of 1/0, true/false, yes/no, on/off.")


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    return value


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} must be one of: {', '.join(choices)}.")
    return value


_RATE_PERIODS = ("second", "minute", "hour", "day")


def env_rate(name: str, default: str) -> str:
    """A request rate as DRF's throttles read it: a whole number per second, minute, hour or day (60/minute)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    count, slash, period = raw.strip().lower().partition("/")
    if not slash or not count.isdigit() or int(count) < 1 or period not in _RATE_PERIODS:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a rate: write a number per second, minute, hour or day (60/minute)."
        )
    return f"{int(count)}/{period}"


_SIZE_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "M": 1024**2, "MB": 1024**2, "G": 1024**3, "GB": 1024**3}


def env_bytes(name: str, default: int, *, minimum: int = 0) -> int:
    """A size in bytes, written as a whole number with an optional binary unit: 1048576, 512M, 1G."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    text = raw.strip().upper()
    digits = text.rstrip("KMGB")
    unit = text[len(digits) :]
    if not digits.isdigit() or unit not in _SIZE_UNITS:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a size: write bytes, or a number with K, M or G (512M, 1G).")
    value = int(digits) * _SIZE_UNITS[unit]
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum} bytes.")
    return value


_DATABASE_ENGINES = {
    "sqlite": "django.db.backends.sqlite3",
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
}


def env_database_url(name: str, default: str) -> dict:
    """A Django DATABASES entry from a URL: `sqlite:///relative/path`, `sqlite:////absolute/path`, or
    `postgres://user:password@host:port/name?sslmode=require` (`postgresql://` too; the query becomes
    OPTIONS). Parts are percent-decoded, so a password may hold `@` or `/` as `%40`, `%2F`. A message
    about a bad URL hides its password: start-up errors end up in logs."""
    raw = os.environ.get(name, default)
    engine = _DATABASE_ENGINES.get(raw.partition("://")[0].lower())
    if engine is None or "://" not in raw:
        raise ImproperlyConfigured(f"{name}={_hide_password(raw)!r}: only sqlite:// and postgres:// are supported.")
    try:
        parts = urlsplit(raw)
        config = _sqlite_config(parts) if engine.endswith("sqlite3") else _postgres_config(parts)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={_hide_password(raw)!r} is not a database URL: {exc}.") from None
    return {"ENGINE": engine, **config}


def _sqlite_config(parts: SplitResult) -> dict:
    if parts.netloc or parts.query:
        raise ValueError("a SQLite URL is sqlite:///relative/path or sqlite:////absolute/path")
    path = unquote(parts.path[1:])
    if not path:
        raise ValueError("it names no database file")
    return {"NAME": path}


def _postgres_config(parts: SplitResult) -> dict:
    if not parts.path[1:] or "/" in parts.path[1:]:
        raise ValueError("the path must be the database's name")
    config = {
        "NAME": unquote(parts.path[1:]),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": _host(parts.netloc),
        "PORT": parts.port or "",  # raises ValueError for a port that is not a number from 0 to 65535
    }
    options = dict(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query)))
    if options:
        config["OPTIONS"] = options
    return config


def _host(netloc: str) -> str:
    """The host as written (a socket folder may be given as %2Fvar%2Frun%2Fpostgresql): urlsplit's
    hostname would lower-case it."""
    host = netloc.rpartition("@")[2]
    if host.startswith("["):  # IPv6: [::1]:5432
        return host[1 : host.find("]")]
    return unquote(host.partition(":")[0])


def _hide_password(url: str) -> str:
    scheme, separator, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    credentials, at, host = netloc.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{separator}{credentials.partition(':')[0]}:***@{host}{slash}{path}"
