"""scripts/backup.sh and scripts/restore.sh (docs/deployment.md "Backup and restore"): a backup of the
database and the files restores into an empty database and empty folders with the same rows and bytes."""

import hashlib
import os
import subprocess

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from tests.factories import UserFactory
from tests.testenv import ROOT

pytestmark = pytest.mark.django_db(transaction=True)  # pg_dump must see the rows: committed


def run(script: str, folder, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "scripts" / script), str(folder)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def database_url(name: str) -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{name}"


@pytest.fixture
def restored_database():
    """An empty database beside the test database, dropped after the test."""
    name = f"{connection.settings_dict['NAME']}_restored"
    admin = connection.settings_dict
    with psycopg.connect(
        dbname="postgres", user=admin["USER"], host=admin["HOST"], port=admin["PORT"], autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
        yield name
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_backup_restores_with_the_same_rows_and_files(tmp_path, restored_database):
    if connection.vendor != "postgresql":
        pytest.skip("pg_dump needs PostgreSQL: service mode only (embedded: copy var/ with the services stopped)")
    for number in range(3):
        UserFactory(username=f"kept-{number}")
    media, jobs = tmp_path / "media", tmp_path / "jobs"
    (media / "images").mkdir(parents=True)
    (media / "images" / "strip.png").write_bytes(b"\x89PNG picture bytes")
    (jobs / "job-7" / "outputs").mkdir(parents=True)
    (jobs / "job-7" / "outputs" / "metrics.json").write_text('{"mAP50": 0.5}')
    (jobs / "runners").mkdir()
    (jobs / "runners" / "attempt-1.json").write_text("{}")  # host-local state: not backed up

    test_database = database_url(connection.settings_dict["NAME"])
    made = run("backup.sh", tmp_path / "backup", DATABASE_URL=test_database, **storage(media, jobs))
    assert made.returncode == 0, made.stderr

    target_media, target_jobs = tmp_path / "media2", tmp_path / "jobs2"
    restored = run(
        "restore.sh",
        tmp_path / "backup",
        DATABASE_URL=database_url(restored_database),
        **storage(target_media, target_jobs),
    )
    assert restored.returncode == 0, restored.stderr
    assert (target_media / "images" / "strip.png").read_bytes() == b"\x89PNG picture bytes"
    assert (target_jobs / "job-7" / "outputs" / "metrics.json").read_text() == '{"mAP50": 0.5}'
    assert not (target_jobs / "runners").exists()
    with psycopg.connect(database_url(restored_database)) as conn:
        names = [row[0] for row in conn.execute("SELECT username FROM accounts_user ORDER BY username")]
    assert names == ["kept-0", "kept-1", "kept-2"]


def test_restore_refuses_a_backup_that_fails_its_checksums(tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "media.tar.gz").write_bytes(b"changed")
    (backup / "SHA256SUMS").write_text(f"{'0' * 64}  ./media.tar.gz\n")
    refused = run("restore.sh", backup, DATABASE_URL="postgres://nobody@127.0.0.1:1/none")
    assert refused.returncode == 1 and "fails its checksums" in refused.stderr


def test_restore_refuses_folders_that_are_not_empty(tmp_path):
    backup, media = tmp_path / "backup", tmp_path / "media"
    backup.mkdir()
    (backup / "media.tar.gz").write_bytes(b"whole")
    (backup / "SHA256SUMS").write_text(f"{hashlib.sha256(b'whole').hexdigest()}  ./media.tar.gz\n")
    media.mkdir()
    (media / "old.png").write_bytes(b"x")
    refused = run(
        "restore.sh", backup, DATABASE_URL="postgres://nobody@127.0.0.1:1/none", **storage(media, tmp_path / "j")
    )
    assert refused.returncode == 1 and "is not empty" in refused.stderr


def test_the_backup_says_what_to_do_without_postgresql(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    refused = subprocess.run(
        [str(ROOT / "scripts" / "backup.sh"), str(tmp_path)], env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode != 0 and "SQLite: copy var/ with the services stopped" in refused.stderr


def storage(media, jobs) -> dict:
    return {"ATELIER_MEDIA_ROOT": str(media), "ATELIER_JOB_DATA_ROOT": str(jobs)}
