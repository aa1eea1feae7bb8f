"""The job pages write durations as durations and GPU use in GPU-hours (issue: the researcher's day)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from scheduler.models import Attempt, AttemptState, Gpu, Job, JobState
from scheduler.templatetags.job_units import duration, gpu_hours
from tests.scheduler.factories import fleet

pytestmark = pytest.mark.django_db


def test_the_filters_write_units():
    assert duration(1800) == "30m" and duration(timedelta(hours=2, minutes=5)) == "2h 5m" and duration(None) == "—"
    assert gpu_hours(5400) == "1.50 GPU-h" and gpu_hours(7) == "0.0019 GPU-h" and gpu_hours(0) == "0 GPU-h"


def _finished_job(researcher) -> Job:
    node = fleet(nodes=1, per_node=2)[0].node
    started = timezone.now() - timedelta(hours=1)
    job = Job.objects.create(
        name="units",
        owner=researcher,
        team=researcher.memberships.first().team,
        command="true",
        gpus=2,
        time_limit_s=1800,
        state=JobState.SUCCEEDED,
        started_at=started,
        ended_at=started + timedelta(minutes=15),
    )
    Attempt.objects.create(
        job=job,
        number=1,
        state=AttemptState.SUCCEEDED,
        node=node,
        gpu_seconds=1800.0,
        started_at=job.started_at,
        ended_at=job.ended_at,
    )
    return job


def test_the_job_page_shows_the_time_limit_run_time_and_gpu_hours(client, researcher):
    job = _finished_job(researcher)
    client.force_login(researcher)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "<dd>30m</dd>" in page and "1800 s" not in page
    assert '<dd id="job-ran">15m</dd>' in page
    assert '<dd id="job-gpu-hours">0.50 GPU-h</dd>' in page


def test_the_job_list_shows_run_time_and_gpu_hours(client, researcher):
    _finished_job(researcher)
    client.force_login(researcher)
    page = client.get("/jobs/").content.decode()
    assert "<td>15m</td><td>0.50 GPU-h</td>" in page


def test_run_again_opens_the_form_filled_in_from_the_job(client, researcher):
    job = _finished_job(researcher)
    Job.objects.filter(pk=job.pk).update(
        command="python examples/train.py --steps 50", env={"SEED": "3"}, priority="low", preemptible=True
    )
    client.force_login(researcher)
    assert f'href="/jobs/new/?from={job.pk}"' in client.get(f"/jobs/{job.pk}/").content.decode()
    form = client.get(f"/jobs/new/?from={job.pk}").content.decode()
    assert "python examples/train.py --steps 50</textarea>" in form
    assert 'name="time_limit" value="30m"' in form and 'value="units"' in form
    assert '<option value="low" selected>' in form and 'name="preemptible" checked' in form
    assert "SEED=3</textarea>" in form


def test_run_again_from_a_job_you_may_not_see_is_a_404(client, researcher, outsider):
    job = _finished_job(researcher)
    client.force_login(outsider)
    assert client.get(f"/jobs/new/?from={job.pk}").status_code == 404


def test_the_job_page_lists_its_outputs_with_download_links(client, researcher, settings, tmp_path):
    settings.JOB_DATA_ROOT = str(tmp_path)
    job = _finished_job(researcher)
    outputs = tmp_path / f"job-{job.pk}" / "outputs"
    outputs.mkdir(parents=True)
    (outputs / "model.pt").write_bytes(b"\0" * 2048)
    (outputs / "metrics.json").write_text('{"loss": 0.1}')
    client.force_login(researcher)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert f'href="/api/v1/jobs/{job.pk}/outputs/model.pt" download>model.pt</a></td><td>2.0\xa0KB' in page
    assert f'href="/api/v1/jobs/{job.pk}/outputs/metrics.json"' in page
    download = client.get(f"/api/v1/jobs/{job.pk}/outputs/metrics.json")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b'{"loss": 0.1}'


def test_the_job_page_charts_its_gpus_over_the_attempts_life(client, researcher):
    from scheduler.models import JobAllocation

    job = _finished_job(researcher)
    attempt = job.attempts.get()
    gpu = Gpu.objects.first()
    JobAllocation.objects.create(attempt=attempt, gpu=gpu, start=attempt.started_at, end=attempt.ended_at)
    client.force_login(researcher)
    page = client.get(f"/jobs/{job.pk}/")
    chart = page.context["gpu_chart"]
    assert chart["start"] == attempt.started_at.isoformat() and chart["end"] == attempt.ended_at.isoformat()
    assert chart["gpus"] == [{"label": f"{gpu.node.name}/gpu{gpu.index}", "url": f"/api/v1/gpus/{gpu.pk}/metrics/"}]
    assert 'id="job-chart-data"' in page.content.decode()


def test_a_job_that_never_started_has_no_chart(client, researcher):
    job = _finished_job(researcher)
    job.attempts.all().delete()
    client.force_login(researcher)
    page = client.get(f"/jobs/{job.pk}/")
    assert page.context["gpu_chart"] is None and "job-chart-data" not in page.content.decode()


def test_the_live_fragment_reads_no_outputs_folder(client, researcher, monkeypatch):
    """The page re-reads the fragment on every job event and every 10 s: it skips the page's own reads."""
    from scheduler.selectors import jobs as job_selectors

    job = _finished_job(researcher)
    monkeypatch.setattr(job_selectors, "job_outputs", lambda **kwargs: pytest.fail("outputs folder read"))
    client.force_login(researcher)
    fragment = client.get(f"/jobs/{job.pk}/?fragment=1").content.decode()
    assert 'id="job-state"' in fragment and "<dd>30m</dd>" in fragment and "<html" not in fragment
