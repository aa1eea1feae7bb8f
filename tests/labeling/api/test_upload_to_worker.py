"""Upload → the real Celery worker (tests/stack.py: node_worker subprocess, thread pool) → items with
tiles, served over HTTP by the real ASGI server. Never task_always_eager."""

import time

import httpx
import pytest

from labeling.models import ImportJob, ImportState, Item, Slice
from tests.factories import PASSWORD
from tests.labeling.conftest import dataset_files, png_bytes, stored_files
from tests.labeling.ingest import corpus

pytestmark = pytest.mark.stack
WAIT_SECONDS = 60


def wait_finished(job_id: int) -> ImportJob:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        job = ImportJob.objects.get(pk=job_id)
        if job.state in (ImportState.SUCCEEDED, ImportState.FAILED):
            return job
        time.sleep(0.2)
    raise AssertionError(f"import job {job_id} still {job.state} after {WAIT_SECONDS}s")


def logged_in(stack_url: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=stack_url, timeout=30)
    client.get("/accounts/login/")
    client.post(
        "/accounts/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": client.cookies["csrftoken"]},
        headers={"Referer": f"{stack_url}/accounts/login/"},
    )
    assert "sessionid" in client.cookies
    return client


def upload(client: httpx.Client, dataset_id: int, files: list[tuple[str, bytes]], **data) -> httpx.Response:
    return client.post(
        f"/api/v1/datasets/{dataset_id}/uploads/",
        files=[("files", f) for f in files],
        data=data,
        headers={"X-CSRFToken": client.cookies["csrftoken"], "Referer": str(client.base_url)},
    )


def test_an_upload_is_imported_by_the_worker_with_tiles(live_stack, researcher, dataset):
    client = logged_in(live_stack.url, "researcher")
    truncated = corpus.first_half(corpus.encoded(corpus.noise(64, 64), "PNG"))
    files = [("a.png", png_bytes(width=300, height=1200)), ("bad.png", truncated), ("c.png", png_bytes(seed=7))]
    response = upload(client, dataset.pk, files)
    assert response.status_code == 202, response.text
    location = response.headers["Location"]
    job = wait_finished(int(location.rstrip("/").rsplit("/", 1)[1]))

    status = client.get(location).json()
    assert status["state"] == "succeeded" and status["progress"] == 1.0
    assert [(f["display_name"], f["outcome"]) for f in status["files"]] == [
        ("a.png", "accepted"),
        ("bad.png", "refused"),
        ("c.png", "accepted"),
    ]
    assert (status["accepted"], status["refused"]) == (2, 1)
    assert Item.objects.filter(dataset=dataset).count() == 2
    assert not any(p.startswith("staging/") for p in dataset_files(dataset.pk))
    assert len(stored_files(dataset.pk)) == 6  # image, original, .dzi for each accepted file

    strip = Slice.objects.get(original_name="a.png")
    dzi = client.get(f"/api/v1/images/{strip.pk}/tiles/image.dzi")
    assert dzi.status_code == 200 and 'Width="300"' in dzi.text and 'Height="1200"' in dzi.text
    tile = client.get(f"/api/v1/images/{strip.pk}/tiles/image_files/11/0_4.jpeg")
    assert tile.status_code == 200 and tile.headers["content-type"] == "image/jpeg"
    assert "immutable" in tile.headers["cache-control"]
    assert job.created_by_id == researcher.pk


def test_a_second_delivery_to_the_worker_adds_nothing(live_stack, researcher, dataset):
    from labeling.services.imports import IMPORT_TASK
    from portal.celery import app

    client = logged_in(live_stack.url, "researcher")
    response = upload(client, dataset.pk, [("a.png", png_bytes()), ("b.png", png_bytes(seed=2))])
    job = wait_finished(int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1]))
    before = sorted(Slice.objects.values_list("id", "sha256")), dataset_files(dataset.pk)
    # Celery delivers at least once: the same message again (as after a lost ack) must change nothing.
    app.send_task(IMPORT_TASK, kwargs={"import_job_id": job.pk})
    job.state = ImportState.RUNNING  # and even a job that looks unfinished is only completed, not redone
    job.save(update_fields=["state"])
    app.send_task(IMPORT_TASK, kwargs={"import_job_id": job.pk})
    wait_finished(job.pk)
    assert (sorted(Slice.objects.values_list("id", "sha256")), dataset_files(dataset.pk)) == before
    assert Item.objects.filter(dataset=dataset).count() == 2
