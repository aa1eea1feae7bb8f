"""Settings in both modes, and clear start-up errors for bad values. Each case runs a fresh interpreter."""

import json
import os
import subprocess
import sys

import pytest

from tests.stack import ROOT

PROBE = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], 'options': s.DATABASES['default'].get('OPTIONS', {}),"
    " 'broker': s.CELERY_BROKER_URL, 'layer': s.CHANNEL_LAYERS['default']['BACKEND'],"
    " 'health_checks': s.DATABASES['default'].get('CONN_HEALTH_CHECKS', False)}))"
)
SERVICE_VARIABLES = ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")


def run_settings(tmp_path, **overrides):
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings", ATELIER_VAR_DIR=str(tmp_path), **overrides)
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_embedded_mode_needs_no_server(tmp_path):
    result = run_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["engine"] == "django.db.backends.sqlite3"
    assert config["options"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in config["options"]["init_command"]
    assert config["broker"] == "filesystem://"
    assert config["layer"] == "channels.layers.InMemoryChannelLayer"
    assert (tmp_path / "secret_key").exists()


def test_service_mode_uses_postgres_and_redis(tmp_path):
    result = run_settings(
        tmp_path,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/test",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        REDIS_URL="redis://127.0.0.1:6379/1",
    )
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["engine"] == "django.db.backends.postgresql"
    assert config["health_checks"] is True
    assert config["broker"] == "redis://127.0.0.1:6379/0"
    assert config["layer"] == "portal.realtime.layers.RedisWakeupLayer"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ATELIER_WORKER_HEARTBEAT_INTERVAL", "soon", "ATELIER_WORKER_HEARTBEAT_INTERVAL='soon' is not a number"),
        ("DJANGO_DEBUG", "maybe", "DJANGO_DEBUG='maybe' is not a boolean"),
        ("DATABASE_URL", "mysql://root@localhost/atelier", "only sqlite:// and postgres:// are supported"),
        ("ATELIER_GPU_BACKEND", "cuda", "ATELIER_GPU_BACKEND='cuda' must be one of: auto, nvml, simulated"),
        ("SESSION_COOKIE_AGE", "-5", "SESSION_COOKIE_AGE='-5' must be at least 60"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(tmp_path, variable, value, message):
    result = run_settings(tmp_path, **{variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_the_generated_secret_key_is_kept(tmp_path):
    run_settings(tmp_path)
    first = (tmp_path / "secret_key").read_text()
    run_settings(tmp_path)
    assert (tmp_path / "secret_key").read_text() == first
    assert len(first) >= 50


def test_production_settings_pass_the_deploy_check(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        ATELIER_VAR_DIR=str(tmp_path),
        DJANGO_DEBUG="0",
        ATELIER_HTTPS="1",
        SECRET_KEY="kq3V9x-pL2mZ8wR4tY6uB1nC7dF0gH5jK-sA9qW3eR7tY2uI8oP4",
        ALLOWED_HOSTS="atelier.studio.example",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (
            {
                "ATELIER_JOB_DB_OUTAGE_GRACE": "600",
                "ATELIER_JOB_HEARTBEAT_TTL": "60",
                "ATELIER_JOB_NODE_DOWN_GRACE": "660",
            },
            "ATELIER_JOB_NODE_DOWN_GRACE",
        ),
        ({"ATELIER_JOB_HEARTBEAT_INTERVAL": "5", "ATELIER_JOB_HEARTBEAT_TTL": "9"}, "ATELIER_JOB_HEARTBEAT_TTL"),
        ({"ATELIER_JOB_LOG_CAP_BYTES": "104857600", "ATELIER_JOB_DISK_RESERVE": "150M"}, "ATELIER_JOB_DISK_RESERVE"),
    ],
)
def test_start_up_refuses_grace_periods_that_could_run_a_job_twice(tmp_path, overrides, named):
    result = run_settings(tmp_path, **overrides)
    assert result.returncode != 0
    assert f"{named}=" in result.stderr.splitlines()[-1]
