"""POST /api/v1/gpus/{id}/drain/ and /api/v1/nodes/{id}/drain/ with running jobs: the preview names
them, and `stop_running_jobs` cancels them (docs/decisions.md §9); the drain page offers the same choice."""

import pytest
from django.utils import timezone

from scheduler.models import Job
from tests.actors import api_client_for
from tests.scheduler.factories import fleet, running_job


@pytest.fixture(autouse=True)
def only_this_tests_gpus(db):
    """A session stack's agent may have written its fleet here: keep the scheduler off those GPUs."""
    from scheduler.models import Gpu

    Gpu.objects.update(state="drained")


@pytest.fixture
def gpu(db):
    gpu = fleet(nodes=1, per_node=1, prefix="drain-api")[0]
    gpu.node.last_heartbeat = timezone.now()
    gpu.node.save(update_fields=["last_heartbeat"])
    return gpu


def test_the_preview_lists_the_running_jobs_and_stops_nothing(gpu, admin, researcher):
    job, _ = running_job(researcher)
    body = (
        api_client_for(admin)
        .post(f"/api/v1/gpus/{gpu.id}/drain/", {"dry_run": True, "stop_running_jobs": True}, format="json")
        .json()
    )
    assert [(j["id"], j["user"], j["state"]) for j in body["running_jobs"]] == [(job.id, "researcher", "running")]
    assert Job.objects.get(pk=job.pk).cancel_requested_at is None


def test_a_drain_without_the_choice_leaves_running_jobs_alone(gpu, admin, researcher):
    job, _ = running_job(researcher)
    response = api_client_for(admin).post(f"/api/v1/gpus/{gpu.id}/drain/", {"reason": "PSU swap"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["stop_running_jobs"] is False and [j["id"] for j in response.json()["running_jobs"]] == [
        job.id
    ]
    assert Job.objects.get(pk=job.pk).cancel_requested_at is None


def test_stop_running_jobs_cancels_them_with_the_drain_as_reason(gpu, admin, researcher):
    job, _ = running_job(researcher)
    response = api_client_for(admin).post(
        f"/api/v1/gpus/{gpu.id}/drain/", {"reason": "PSU swap", "stop_running_jobs": True}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["gpu"]["state"] == "drained"
    job.refresh_from_db()
    assert job.cancel_requested_at is not None and job.cancel_reason == "GPU drained by admin: PSU swap"


def test_a_node_drain_can_stop_its_running_jobs(gpu, admin, researcher):
    job, _ = running_job(researcher)
    response = api_client_for(admin).post(
        f"/api/v1/nodes/{gpu.node_id}/drain/", {"reason": "kernel update", "stop_running_jobs": True}, format="json"
    )
    assert response.status_code == 200 and [j["id"] for j in response.json()["running_jobs"]] == [job.id]
    assert Job.objects.get(pk=job.pk).cancel_reason == "Node drained by admin: kernel update"


def test_the_drain_page_lists_running_jobs_and_offers_to_stop_them(client, gpu, admin, researcher):
    job, _ = running_job(researcher)
    client.force_login(admin)
    html = client.get(f"/gpus/{gpu.id}/drain/").content.decode()
    assert "Running jobs (1)" in html and 'name="stop_running_jobs"' in html and job.name in html
    assert client.post(f"/gpus/{gpu.id}/drain/", {"reason": "fan"}).status_code == 302
    assert Job.objects.get(pk=job.pk).cancel_requested_at is None  # unchecked: it ends normally
    client.post(f"/gpus/{gpu.id}/drain/", {"action": "undrain"})
    client.post(f"/gpus/{gpu.id}/drain/", {"reason": "fan", "stop_running_jobs": "1"})
    assert Job.objects.get(pk=job.pk).cancel_reason == "GPU drained by admin: fan"
