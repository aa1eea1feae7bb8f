"""Atelier settings: one module, every knob an environment variable, embedded defaults.

Embedded mode (the default) needs no server: SQLite under var/, Celery's filesystem broker, an
in-process channel layer plus the database event table for cross-process realtime, simulated GPUs.
Service mode: DATABASE_URL=postgres://…, CELERY_BROKER_URL=redis://…, REDIS_URL=redis://….
docs/configuration.md lists every variable.
"""

import os
import pwd
import secrets
import sys
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from portal.conf import (
    env_bool,
    env_bytes,
    env_choice,
    env_database_url,
    env_float,
    env_int,
    env_list,
    env_rate,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("ATELIER_VAR_DIR", str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _own_only(path: Path, mode: int) -> None:
    """Restrict the portal's own file or folder to `mode` (docs/jobs.md "Who a job runs as"); one that
    another account owns (a folder the operator pointed us at) is left as it is."""
    if path.exists() and path.stat().st_uid == os.geteuid():
        path.chmod(mode)


def _private_file(path: Path) -> Path:
    """`path`, created empty if missing, readable by this account only (created so: never readable first)."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    _own_only(path, 0o600)
    return path


# Jobs pass through var/ to their folder under var/jobs, but may not list it.
_own_only(VAR_DIR, 0o711)


def _secret_key() -> str:
    """A key from the environment, or one generated on first start and kept in var/ (never committed)."""
    from_env = env_str("SECRET_KEY", "")
    if from_env:
        return from_env
    key_file = _private_file(VAR_DIR / "secret_key")
    if not key_file.read_text().strip():
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Behind TLS in production: ATELIER_HTTPS=1 turns on every transport-security setting together.
HTTPS = env_bool("ATELIER_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 14 * 24 * 3600, minimum=60)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "channels",
    "axes",
    "portal.accounts",
    "portal.teams",
    "portal.notifications",
    "portal.realtime",
    "portal.ops",
    "portal.audit",
    "portal.reports.snapshots",
    "scheduler",
    "labeling",
    "training",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "portal.accounts.middleware.UserTimezoneMiddleware",
    "portal.views.RefusalPages",  # a service's refusal a page leaves uncaught: a styled 4xx, not a 500
    "portal.views.RefuseNulBytes",  # a NUL byte in a query parameter: a 400 naming it (portal/inputs.py)
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: turns a refused login into the lockout page
]

ROOT_URLCONF = "portal.urls"
ASGI_APPLICATION = "portal.asgi.application"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.notifications.context.unread_notifications",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
_db = env_database_url("DATABASE_URL", f"sqlite:///{VAR_DIR / 'atelier.sqlite3'}")
IS_SQLITE = _db["ENGINE"] == "django.db.backends.sqlite3"
if IS_SQLITE:
    if _db["NAME"] != ":memory:":
        _private_file(Path(_db["NAME"]))  # SQLite gives its -wal and -shm files the database file's mode
    # IMMEDIATE takes the write lock at BEGIN: concurrent writers queue on the busy timeout instead of
    # failing with "database is locked" when a read transaction tries to upgrade (DEFERRED, the default).
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env_float("SQLITE_BUSY_TIMEOUT", 30.0),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests run against a file (not :memory:) so that subprocesses (web, worker, beat, agent) share it.
    _db["TEST"] = {"NAME": env_str("ATELIER_TEST_SQLITE", str(VAR_DIR / "test.sqlite3"))}
    DB_POOL_MAX_SIZE = 0  # SQLite opens a file: nothing to pool
else:
    _db["TEST"] = {"NAME": env_str("ATELIER_TEST_DB_NAME", "") or None}
    _db["CONN_HEALTH_CHECKS"] = True
    _db["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 0)
    # One bounded pool per process (docs/configuration.md "Database connections"): a burst of requests
    # waits up to the timeout for a connection, then answers 503 with Retry-After (portal/views.py),
    # instead of taking every connection the server has. 0 turns the pool off.
    DB_POOL_MAX_SIZE = env_int("ATELIER_DB_POOL_MAX_SIZE", 20)
    if DB_POOL_MAX_SIZE:
        if _db["CONN_MAX_AGE"]:
            raise ImproperlyConfigured(
                "DB_CONN_MAX_AGE must be 0 while the connection pool is on (ATELIER_DB_POOL_MAX_SIZE > 0): "
                "the pool keeps the connections. Set one of them to 0."
            )
        _db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": min(env_int("ATELIER_DB_POOL_MIN_SIZE", 2), DB_POOL_MAX_SIZE),
            "max_size": DB_POOL_MAX_SIZE,
            "timeout": env_float("ATELIER_DB_POOL_TIMEOUT", 10.0, minimum=0.1),
        }
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if env_bool("ATELIER_FAST_PASSWORD_HASHER", False):  # tests only: hashing dominates factory time
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# --- Login throttling (django-axes; docs/security.md "Logins and tokens") ---------------------
# Failed logins are counted per account and per client address, for the site's and the admin's login
# alike; at the limit both are locked for the cool-off, or until an admin unlocks them.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("ATELIER_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_float("ATELIER_LOGIN_LOCKOUT_MINUTES", 15.0, minimum=0.1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# A success forgets nothing: it would clear its address's failures on other accounts too, so a guesser
# with an account of their own could reset the count between guesses. Failures age out with the cool-off.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "portal.views.login_locked"
AXES_DISABLE_ACCESS_LOG = True  # failures are kept (the lockout needs them); successful logins are not
AXES_VERBOSE = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
# Months for quotas and reports start at midnight in this zone (docs/decisions.md §3).
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files: served by the ASGI app through whitenoise; vendored libraries, no CDN ----
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static_root"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env_str("ATELIER_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_ROOT.mkdir(mode=0o700, parents=True, exist_ok=True)
_own_only(MEDIA_ROOT, 0o700)  # every team's pictures: the web serves them, a job never reads them from disk

# --- Content-Security-Policy (django-csp; docs/security.md) -----------------------------------
# No inline scripts anywhere: page scripts are static files that read their data from json_script.
# style-src allows inline styles because OpenSeadragon, Annotorious and the calendar position their
# elements with style attributes; scripts stay locked to this origin. 'self' in connect-src covers
# the same-origin websocket (/ws/events/) in CSP level 3 browsers.
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [SELF],
    },
}

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous API call then gets 401 with `WWW-Authenticate: Token`, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.accounts.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["portal.api.throttling.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.PagePagination",
    # DRF's JSON parser with a nesting limit (portal/inputs.py); forms and multipart as DRF's defaults.
    "DEFAULT_PARSER_CLASSES": [
        "portal.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.errors.exception_handler",
    "DEFAULT_METADATA_CLASS": "portal.api.metadata.Metadata",  # OPTIONS
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # The client's address is REMOTE_ADDR, never a X-Forwarded-For the client may write itself: behind a
    # proxy, the ASGI server sets REMOTE_ADDR from the proxy's header (docs/security.md).
    "NUM_PROXIES": 0,
    # Per token (a session counts as one), and per address for anonymous calls; 429 with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": [
        "portal.api.throttling.TokenRateThrottle",
        "portal.api.throttling.AnonymousRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "token": env_rate("ATELIER_API_RATE_TOKEN", "1200/minute"),
        "anonymous": env_rate("ATELIER_API_RATE_ANONYMOUS", "60/minute"),
    },
}
# A personal token lives at most this many days; a request for longer (or for never) is refused.
API_TOKEN_MAX_DAYS = env_int("ATELIER_API_TOKEN_MAX_DAYS", 90, minimum=1)
REST_KNOX = {
    "TOKEN_TTL": None,  # personal tokens carry their own expiry, chosen at creation
    "TOKEN_PREFIX": "atl_",
    "AUTH_HEADER_PREFIX": "Token",
}
KNOX_TOKEN_MODEL = "accounts.ApiToken"
# knox's own migration would create its (swapped-out) token table anyway, with a foreign key to users
# that blocks PostgreSQL's TRUNCATE during test flushes. With no migrations, no table is made.
MIGRATION_MODULES = {"knox": None}
SPECTACULAR_SETTINGS = {
    "TITLE": "Atelier API",
    "DESCRIPTION": "GPUs, bookings, jobs and labeling for the studio's AI team.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portal.api.schema.document_refusals",  # 400/401/404/413 in the error shape on every operation
    ],
}

# --- Celery -----------------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control", "staging"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),  # kombu's default is ./control in the cwd
        "staging_folder": str(BROKER_DIR / "staging"),  # portal.broker: messages appear whole
        "store_processed": False,
        # kombu polls an idle folder at this interval: the bound on how long a task waits to be picked up.
        "polling_interval": env_float("CELERY_FS_POLLING_INTERVAL", 0.1, minimum=0.01),
    }
else:
    # Set on purpose (docs/decisions.md §10): an unacked message returns after this long. Progress never depends
    # on it: the database heartbeat and the reaper requeue lost work.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=1),
        "global_keyprefix": env_str("CELERY_KEY_PREFIX", ""),
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "portal.ops.beat:HeartbeatDatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Periodic work; django-celery-beat's DatabaseScheduler copies these into its tables on start.
CELERY_BEAT_SCHEDULE = {
    "prune-realtime-events": {"task": "realtime.prune_events", "schedule": 600.0},
    # Hourly: takes each closed month once, soon after it closes, and catches up months missed while
    # beat was down; a run with nothing to take is one query (docs/reports.md "Monthly snapshots").
    "reports-monthly-snapshots": {"task": "reports.snapshots_take", "schedule": 3600.0},
}

# --- Channels and the cache --------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    # The API's throttle counts (portal/api/throttling.py) live in the cache: in Redis every web process
    # counts against one budget. Short timeouts, because the throttles let calls through while Redis is away.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("ATELIER_CACHE_KEY_PREFIX", "atelier-cache"),
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
if REDIS_URL:
    # Redis only wakes consumers, and this layer waits out its outages (docs/architecture.md "Realtime across processes").
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "portal.realtime.layers.RedisWakeupLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env_str("CHANNELS_KEY_PREFIX", "asgi")},
        }
    }
else:
    # Per-process only: cross-process events travel through the database event table (portal.realtime).
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Intervals and TTLs: every one a setting, shortened by the tests (docs/decisions.md §10) ------------
REALTIME_POLL_INTERVAL = env_float("ATELIER_REALTIME_POLL_INTERVAL", 0.5, minimum=0.05)
REALTIME_EVENT_RETENTION = env_float("ATELIER_REALTIME_EVENT_RETENTION", 3600.0, minimum=10)
WORKER_HEARTBEAT_INTERVAL = env_float("ATELIER_WORKER_HEARTBEAT_INTERVAL", 5.0, minimum=0.1)
BEAT_TICK_INTERVAL = env_float("ATELIER_BEAT_TICK_INTERVAL", 5.0, minimum=0.1)
# A component is healthy while its last heartbeat is younger than this many of its intervals.
HEALTH_STALE_AFTER_INTERVALS = env_float("ATELIER_HEALTH_STALE_AFTER_INTERVALS", 3.0, minimum=1.0)
HEALTH_MIN_STALE_SECONDS = env_float("ATELIER_HEALTH_MIN_STALE_SECONDS", 15.0, minimum=0.1)
BROKER_CHECK_TIMEOUT = env_float("ATELIER_BROKER_CHECK_TIMEOUT", 2.0, minimum=0.1)

# --- GPUs -----------------------------------------------------------------------------------
GPU_BACKEND = env_choice("ATELIER_GPU_BACKEND", "auto", ("auto", "nvml", "simulated"))
SIM_FLEET = env_str("ATELIER_SIM_FLEET", "")
# The node this host's worker and agent serve (`--node` overrides it). Empty: the host's name with
# NVML, every node of the simulated fleet (docs/deployment.md "Node roles").
NODE_NAME = env_str("ATELIER_NODE_NAME", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"daphne": {"level": "WARNING"}, "django.channels.server": {"level": "WARNING"}},
}

# --- GPU fleet: agent, telemetry retention, node-down, /metrics ---------------------
# Seconds between agent samples; the board and websocket updates follow it.
AGENT_INTERVAL = env_float("ATELIER_AGENT_INTERVAL", 1.0, minimum=0.05)
# Raw samples are buffered and written in one batch at most this often (fewer, larger transactions).
AGENT_FLUSH_INTERVAL = env_float("ATELIER_AGENT_FLUSH_INTERVAL", 5.0, minimum=0.0)
# A full inventory sync runs at least this often even when the readings show no change.
AGENT_INVENTORY_INTERVAL = env_float("ATELIER_AGENT_INVENTORY_INTERVAL", 60.0, minimum=0.0)
# Node down: heartbeat older than max(NODE_DOWN_INTERVALS x agent interval, NODE_DOWN_MIN_SECONDS) (docs/decisions.md §10).
NODE_DOWN_INTERVALS = env_float("ATELIER_NODE_DOWN_INTERVALS", 3.0, minimum=1.0)
NODE_DOWN_MIN_SECONDS = env_float("ATELIER_NODE_DOWN_MIN_SECONDS", 15.0, minimum=0.1)
# Retention in hours; 0 keeps the rows forever.
TELEMETRY_RAW_RETENTION_HOURS = env_float("ATELIER_TELEMETRY_RAW_RETENTION_HOURS", 48.0)
TELEMETRY_MINUTE_RETENTION_HOURS = env_float("ATELIER_TELEMETRY_MINUTE_RETENTION_HOURS", 30 * 24.0)
TELEMETRY_HOUR_RETENTION_HOURS = env_float("ATELIER_TELEMETRY_HOUR_RETENTION_HOURS", 0.0)
TELEMETRY_ROLLUP_INTERVAL = env_float("ATELIER_TELEMETRY_ROLLUP_INTERVAL", 60.0, minimum=1.0)
# /metrics: a bearer token, or a client address in the allow-list (CIDR), lets a scraper in.
METRICS_TOKEN = env_str("ATELIER_METRICS_TOKEN", "")
METRICS_ALLOW = env_list("ATELIER_METRICS_ALLOW", ["127.0.0.1/32", "::1/128"])
CELERY_BEAT_SCHEDULE.update(
    {
        "telemetry-rollups": {"task": "scheduler.telemetry_rollup", "schedule": TELEMETRY_ROLLUP_INTERVAL},
        "telemetry-retention": {"task": "scheduler.telemetry_prune", "schedule": 3600.0},
        # The reports' hourly totals per scope (scheduler/services/usage_totals.py): a settled hour is
        # rolled within this long of settling; a backlog catches up a month of hours per run.
        "usage-hours": {"task": "scheduler.usage_hours_roll", "schedule": 300.0},
    }
)
try:
    import ipaddress as _ipaddress

    METRICS_ALLOW_NETWORKS = tuple(_ipaddress.ip_network(item, strict=False) for item in METRICS_ALLOW)
except ValueError as _exc:
    raise ImproperlyConfigured(f"ATELIER_METRICS_ALLOW={METRICS_ALLOW!r}: {_exc}") from None

# --- Jobs (docs/decisions.md §6) -------------------------------------------------------------------------
# Working directories must lie under this root; `..` and symlinks out of it are refused at submit.
JOB_WORKDIR_ROOT = Path(env_str("ATELIER_JOB_WORKDIR_ROOT", str(BASE_DIR))).resolve()
JOB_DATA_ROOT = Path(env_str("ATELIER_JOB_DATA_ROOT", str(VAR_DIR / "jobs"))).resolve()
# The Python prefix of the training environment Atelier ships (with torch): by default the portal's own
# interpreter's, registered as the default runtime environment on first use (docs/jobs.md).
JOB_DEFAULT_ENVIRONMENT_PREFIX = env_str("ATELIER_JOB_DEFAULT_ENVIRONMENT_PREFIX", sys.prefix)
DEFAULT_JOB_ACCOUNT = "atelier-job"


def _default_job_account() -> str:
    """A root worker never runs jobs as root by default: it runs them as `atelier-job` once that account
    exists (`make run` and .ci/run create it: scripts/job_account.sh). docs/jobs.md "Who a job runs as"."""
    if os.geteuid() != 0:
        return ""
    try:
        pwd.getpwnam(DEFAULT_JOB_ACCOUNT)
    except KeyError:
        return ""
    return DEFAULT_JOB_ACCOUNT


# Empty: jobs run as the worker's own account (a worker that is not root).
JOB_RUN_AS_USER = env_str("ATELIER_JOB_RUN_AS_USER", _default_job_account())
JOB_POLL_INTERVAL = env_float("ATELIER_JOB_POLL_INTERVAL", 1.0, minimum=0.05)  # cancel is seen within this
JOB_HEARTBEAT_INTERVAL = env_float("ATELIER_JOB_HEARTBEAT_INTERVAL", 5.0, minimum=0.1)
JOB_HEARTBEAT_TTL = env_float("ATELIER_JOB_HEARTBEAT_TTL", 60.0, minimum=1.0)
if JOB_HEARTBEAT_TTL < 2 * JOB_HEARTBEAT_INTERVAL:
    raise ImproperlyConfigured(
        f"ATELIER_JOB_HEARTBEAT_TTL={JOB_HEARTBEAT_TTL:g} must be at least twice ATELIER_JOB_HEARTBEAT_INTERVAL ({JOB_HEARTBEAT_INTERVAL:g}) seconds."
    )
# A runner that cannot reach the database keeps its job running this long, then stops it itself
# (fencing: by then the reaper may have given the job to another attempt).
JOB_DB_OUTAGE_GRACE = env_float("ATELIER_JOB_DB_OUTAGE_GRACE", 600.0, minimum=1.0)
# A lost attempt whose node is silent this long (and whose runner was last heard of this long ago)
# is requeued without the node confirming its processes are gone.
JOB_NODE_DOWN_GRACE = env_float("ATELIER_JOB_NODE_DOWN_GRACE", 900.0, minimum=0.0)
if JOB_NODE_DOWN_GRACE <= JOB_DB_OUTAGE_GRACE + JOB_HEARTBEAT_TTL:
    # Otherwise a partitioned runner could still be running its job when the job starts elsewhere.
    raise ImproperlyConfigured(
        f"ATELIER_JOB_NODE_DOWN_GRACE={JOB_NODE_DOWN_GRACE:g} must be more than ATELIER_JOB_DB_OUTAGE_GRACE "
        f"({JOB_DB_OUTAGE_GRACE:g}) + ATELIER_JOB_HEARTBEAT_TTL ({JOB_HEARTBEAT_TTL:g}) seconds: a runner cut off "
        "from the database stops its job only after the outage grace."
    )
JOB_CLAIM_TIMEOUT = env_float("ATELIER_JOB_CLAIM_TIMEOUT", 60.0, minimum=1.0)
JOB_MIN_TIME_LIMIT = env_int("ATELIER_JOB_MIN_TIME_LIMIT", 60, minimum=1)
JOB_KILL_GRACE_SECONDS = env_float("ATELIER_JOB_KILL_GRACE_SECONDS", 10.0, minimum=0.0)
JOB_LOG_CAP_BYTES = env_int("ATELIER_JOB_LOG_CAP_BYTES", 50 * 1024 * 1024, minimum=1024)
JOB_LOG_CHUNK_BYTES = env_int("ATELIER_JOB_LOG_CHUNK_BYTES", 256 * 1024, minimum=1024)

# Model registry (docs/models.md): registered files are copied under MEDIA_ROOT/<MODEL_STORAGE_DIR>.
MODEL_STORAGE_DIR = env_str("ATELIER_MODEL_STORAGE_DIR", "models")
MODEL_MAX_FILE_BYTES = env_int("ATELIER_MODEL_MAX_FILE_BYTES", 2 * 1024 * 1024 * 1024, minimum=1)
# A checkpoint is loaded in a child process to prove it loads; one that takes longer is refused.
MODEL_LOAD_TIMEOUT = env_float("ATELIER_MODEL_LOAD_TIMEOUT", 120.0, minimum=1.0)
# Serving (docs/models.md "Serving"): how long the predict endpoint waits for the inference worker before it
# answers 202 with the request's resource; how many loaded versions a worker process keeps; where it runs them.
PREDICT_WAIT_SECONDS = env_float("ATELIER_PREDICT_WAIT_SECONDS", 10.0, minimum=0.0)
PREDICT_MODEL_CACHE_SIZE = env_int("ATELIER_PREDICT_MODEL_CACHE_SIZE", 3, minimum=1)
PREDICT_DEVICE = env_str("ATELIER_PREDICT_DEVICE", "cpu")
PREDICT_QUEUE = "inference"
# /metrics reports served models' inference time and round trip over the requests of this many seconds.
PREDICT_METRICS_WINDOW = env_float("ATELIER_PREDICT_METRICS_WINDOW", 900.0, minimum=1.0)
# Inputs staged for jobs (docs/models.md): how often a staging waiting for its export looks again, and
# after how long beat sends a waiting staging again (its message may have been lost).
TRAINING_STAGING_POLL_INTERVAL = env_float("ATELIER_TRAINING_STAGING_POLL_INTERVAL", 1.0, minimum=0.05)
TRAINING_STAGING_SWEEP_AFTER = env_float("ATELIER_TRAINING_STAGING_SWEEP_AFTER", 60.0, minimum=1.0)
# `make run`'s demo trains a detector after start-up (training/demo.py); tests that seed the demo turn it off.
DEMO_TRAINING = env_bool("ATELIER_DEMO_TRAINING", True)
CELERY_BEAT_SCHEDULE["training-stage-sweep"] = {"task": "training.stage_sweep", "schedule": 30.0}
# Pre-label runs: the job's working directory, a checkout holding training/detector/ that jobs' accounts
# read, under JOB_WORKDIR_ROOT as every job's (by default that root, which is this checkout unless moved;
# docs/models.md "Pre-label runs").
TRAINING_PRELABEL_WORKDIR = env_str("ATELIER_TRAINING_PRELABEL_WORKDIR", str(JOB_WORKDIR_ROOT))
# Pipelines (docs/pipelines.md): a job step's working directory unless its spec names one under
# JOB_WORKDIR_ROOT; beat's sweep advances every running run (a lost message delays, never strands).
TRAINING_PIPELINE_WORKDIR = env_str("ATELIER_TRAINING_PIPELINE_WORKDIR", str(JOB_WORKDIR_ROOT))
CELERY_BEAT_SCHEDULE["training-pipeline-sweep"] = {
    "task": "training.pipeline_sweep",
    "schedule": env_float("ATELIER_TRAINING_PIPELINE_SWEEP_INTERVAL", 10.0, minimum=0.05),
}
# Pre-label runs: ingest each running run's new predictions (docs/models.md "Pre-label runs").
CELERY_BEAT_SCHEDULE["training-prelabel-sweep"] = {
    "task": "training.prelabel_sweep",
    "schedule": env_float("ATELIER_TRAINING_PRELABEL_SWEEP_INTERVAL", 10.0, minimum=0.05),
}
# Serving: predict requests older than a day are deleted (training/services/serving.py, KEEP_REQUESTS).
CELERY_BEAT_SCHEDULE["training-prediction-requests-prune"] = {
    "task": "training.prediction_requests_prune",
    "schedule": 3600.0,
}
# A job is stopped ("disk full", not requeued) when free space under JOB_DATA_ROOT falls below this.
# In embedded mode the database shares that disk: the reserve must hold the rest of the job's log
# copy (up to the cap) and the failure record, so it is at least twice the log cap.
JOB_DISK_RESERVE = env_bytes("ATELIER_JOB_DISK_RESERVE", 1024**3, minimum=0)
if JOB_DISK_RESERVE < 2 * JOB_LOG_CAP_BYTES:
    raise ImproperlyConfigured(
        f"ATELIER_JOB_DISK_RESERVE={JOB_DISK_RESERVE} bytes must be at least twice ATELIER_JOB_LOG_CAP_BYTES "
        f"({JOB_LOG_CAP_BYTES}): a stopped job's log copy and its failure record need that room."
    )
SCHEDULER_PASS_INTERVAL = env_float("ATELIER_SCHEDULER_PASS_INTERVAL", 5.0, minimum=0.1)
REAPER_INTERVAL = env_float("ATELIER_REAPER_INTERVAL", 15.0, minimum=0.1)
CELERY_BEAT_SCHEDULE |= {
    "scheduling-pass": {"task": "jobs.scheduling_pass", "schedule": SCHEDULER_PASS_INTERVAL},
    "reap-lost-attempts": {"task": "jobs.reap", "schedule": REAPER_INTERVAL},
}

# --- Bookings --------------------------------------------------------------------------
# A running booking whose GPUs all stay under this utilization for BOOKING_IDLE_AFTER seconds is flagged.
BOOKING_IDLE_UTILIZATION_PCT = env_float("ATELIER_BOOKING_IDLE_UTILIZATION_PCT", 5.0)
BOOKING_IDLE_AFTER = env_float("ATELIER_BOOKING_IDLE_AFTER", 2 * 3600.0, minimum=1.0)
# Telemetry must cover the idle period to within this gap at both ends: no samples is not "idle".
BOOKING_IDLE_SAMPLE_GAP = env_float("ATELIER_BOOKING_IDLE_SAMPLE_GAP", 300.0, minimum=1.0)
# Off by default: an admin turns on releasing the rest of a flagged booking.
BOOKING_IDLE_AUTO_RELEASE = env_bool("ATELIER_BOOKING_IDLE_AUTO_RELEASE", False)
BOOKING_IDLE_CHECK_INTERVAL = env_float("ATELIER_BOOKING_IDLE_CHECK_INTERVAL", 300.0, minimum=1.0)
CELERY_BEAT_SCHEDULE["bookings-flag-idle"] = {"task": "bookings.flag_idle", "schedule": BOOKING_IDLE_CHECK_INTERVAL}

# --- Datasets (docs/decisions.md §7) ---------------------------------------------------------------
from labeling.ingest.limits import IngestLimits as _IngestLimits  # noqa: E402  (pure, no Django)

INGEST_LIMITS = _IngestLimits(
    max_file_bytes=env_int("ATELIER_INGEST_MAX_FILE_BYTES", 50 * 1024 * 1024, minimum=1),
    max_files_per_request=env_int("ATELIER_INGEST_MAX_FILES_PER_REQUEST", 100, minimum=1),
    max_image_pixels=env_int("ATELIER_INGEST_MAX_IMAGE_PIXELS", 100_000_000, minimum=1),
    max_image_side=env_int("ATELIER_INGEST_MAX_IMAGE_SIDE", 150_000, minimum=1),
    max_archive_entries=env_int("ATELIER_INGEST_MAX_ARCHIVE_ENTRIES", 2_000, minimum=1),
    max_archive_expanded_bytes=env_int("ATELIER_INGEST_MAX_ARCHIVE_EXPANDED_BYTES", 2 * 1024**3, minimum=1),
    url_total_seconds=env_float("ATELIER_INGEST_URL_TOTAL_SECONDS", 60.0, minimum=0.1),
)
# The request body may carry max_files_per_request files of max_file_bytes each; Django's own caps
# would otherwise answer 400 before our 413 with the limit (Django's count cap stays, 50 higher).
DATA_UPLOAD_MAX_NUMBER_FILES = INGEST_LIMITS.max_files_per_request + 50
# The most bytes a request body may carry, per route, refused with a 413 before Django reads it
# (portal/body_limit.py); any other route: DATA_UPLOAD_MAX_MEMORY_SIZE (Django's default, 2.5 MB). A
# file's multipart headers and the form's other fields get an allowance beside the files themselves.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
_PART_ALLOWANCE = 64 * 1024
_ONE_FILE_BODY = INGEST_LIMITS.max_file_bytes + _PART_ALLOWANCE + DATA_UPLOAD_MAX_MEMORY_SIZE
REQUEST_BODY_LIMITS = [
    (
        r"^/api/v1/datasets/\d+/uploads/$",
        INGEST_LIMITS.max_files_per_request * (INGEST_LIMITS.max_file_bytes + _PART_ALLOWANCE)
        + DATA_UPLOAD_MAX_MEMORY_SIZE,
    ),
    (r"^/api/v1/datasets/\d+/(imports|annotation-imports)/$", _ONE_FILE_BODY),
    (r"^/api/v1/models/[^/]+/predict/$", _ONE_FILE_BODY),
    (r"^/api/v1/models/[^/]+/versions/\d+/predict/$", _ONE_FILE_BODY),
]
# Admins import from server folders under this root only; empty turns folder import off.
DATASET_IMPORT_ROOT = env_str("ATELIER_DATASET_IMPORT_ROOT", "")
# dHash bits that may differ for two images to be flagged near-duplicates (0..64).
DATASET_NEAR_DUPLICATE_BITS = env_int("ATELIER_DATASET_NEAR_DUPLICATE_BITS", 6)
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {"ImportSourceEnum": "labeling.models.ImportSource", "ItemKindEnum": "labeling.models.ItemKind"}
)
# Import and export jobs share one state set (queued, running, succeeded, failed).
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "ImportJobStateEnum": "labeling.models.ImportState",
        "JobStateEnum": "scheduler.models.jobs.JobState",
        "TaskStatusEnum": "labeling.models.TaskStatus",
        "CheckpointFormatEnum": "training.models.CheckpointFormat",
        "PipelineRunStateEnum": "training.models.RunState",
        "PipelineStepStateEnum": "training.models.StepState",
    }
)

# --- Annotation (docs/annotation.md) ----------------------------------------------------
# One person's autosaves begun within this many seconds of a revision's first save are kept as that
# revision in history (0: every save its own revision).
ANNOTATION_REVISION_MERGE_SECONDS = env_float("ATELIER_ANNOTATION_REVISION_MERGE_SECONDS", 120.0, minimum=0)

# --- Live scheduling policy (docs/scheduling.md, "Live defaults") -------------------------------
# The replay's defaults are tuned for Philly's weeks-long overload; a studio cluster with light queues
# wants big jobs to hold GPUs after hours, not a month: these bound every live wait to about 3 days.
SCHEDULER_RESERVE_MIN_AGE = env_float("ATELIER_SCHEDULER_RESERVE_MIN_AGE", 6 * 3600.0, minimum=0.0)
SCHEDULER_WEIGHT_SIZE_HOURS = env_float("ATELIER_SCHEDULER_WEIGHT_SIZE_HOURS", 48.0, minimum=0.0)
SCHEDULER_WEIGHT_FAIRSHARE_HOURS = env_float("ATELIER_SCHEDULER_WEIGHT_FAIRSHARE_HOURS", 24.0, minimum=0.0)
# A job waiting longer than max(floor, factor x the median wait) goes first, oldest first (0: off).
SCHEDULER_STARVATION_FACTOR = env_float("ATELIER_SCHEDULER_STARVATION_FACTOR", 16.0, minimum=0.0)
SCHEDULER_STARVATION_FLOOR = env_float("ATELIER_SCHEDULER_STARVATION_FLOOR", 24 * 3600.0, minimum=0.0)
# Fair share forgets past usage at this half-life (s), like Slurm's PriorityDecayHalfLife; the usage
# table is folded with it, so a change applies from the next fold on (docs/scheduling.md).
SCHEDULER_HALF_LIFE = env_float("ATELIER_SCHEDULER_HALF_LIFE", 7 * 24 * 3600.0, minimum=3600.0)
