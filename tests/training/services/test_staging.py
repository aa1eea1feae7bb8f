"""Inputs staged for jobs (training/services/staging.py): the export is reused when an identical one
finished, the job is submitted once with its data linked into its own closed folder and the version in
its inputs, and every refusal writes nothing."""

import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from labeling.models import ExportJob, ExportState
from labeling.selectors.versions import version_from_ref
from labeling.services.exports import export_job_run
from scheduler.models import Job
from training.demo import detection_version_create
from training.models import InputStaging, StagingState
from training.services.staging import staged_job_submit, staged_root, staging_advance

pytestmark = pytest.mark.django_db

JOB = {"command": "python examples/train_detector.py --steps 2", "gpus": 1, "time_limit": timedelta(minutes=10)}


@pytest.fixture(autouse=True)
def gpu(db):
    from tests.scheduler.factories import GpuFactory

    return GpuFactory(model="staging-test-gpu")


@pytest.fixture
def version(researcher, team_a):
    return detection_version_create(
        user=researcher, team_id=team_a.pk, name="Tiny strips", seeds=range(3), width=160, height=480
    )


def submit(user, version, **kwargs):
    return staged_job_submit(user=user, dataset_version_id=version.pk, job=dict(JOB), **kwargs)


def finish_export(staging):
    export_job_run(export_job_id=staging.export_id)
    assert ExportJob.objects.get(pk=staging.export_id).state == ExportState.SUCCEEDED


def test_it_submits_the_job_once_its_export_is_staged(researcher, version):
    staging = submit(researcher, version)
    assert staging.state == StagingState.STAGING and not Job.objects.exists()
    staging_advance(staging_id=staging.pk)  # the export has not run yet: the staging waits
    assert InputStaging.objects.get(pk=staging.pk).state == StagingState.STAGING and not Job.objects.exists()

    finish_export(staging)
    staging_advance(staging_id=staging.pk)
    staging_advance(staging_id=staging.pk)  # a second delivery submits nothing more

    staging.refresh_from_db()
    job = Job.objects.get()
    assert staging.state == StagingState.SUBMITTED and staging.job == job
    assert version_from_ref(job.inputs["dataset_version"]) == version
    data = Path(job.inputs["data"])
    assert data == Path(os.environ.get("ATELIER_JOB_DATA_ROOT", data.parents[1])) / f"job-{job.pk}" / "inputs"
    assert sorted(p.name for p in (data / "annotations").iterdir()) == [
        "instances_test.json",
        "instances_train.json",
        "instances_val.json",
    ]
    assert len(list((data / "images").rglob("*.png"))) == 3
    assert stat.S_IMODE(data.parent.stat().st_mode) == 0o750  # closed until an attempt of the job opens it
    assert stat.S_IMODE(staged_root().stat().st_mode) == 0o700  # the cache: the portal's account only


def test_an_identical_finished_export_is_reused(researcher, version):
    first = submit(researcher, version)
    finish_export(first)
    second = submit(researcher, version, export_options={"include_images": True, "splits": ["val", "train", "test"]})
    other = submit(researcher, version, export_options={"include_images": True, "splits": ["train"]})

    assert second.export_id == first.export_id and second.reused_export
    assert other.export_id != first.export_id and not other.reused_export
    assert ExportJob.objects.count() == 2
    for staging in (first, second):
        staging_advance(staging_id=staging.pk)
    jobs = Job.objects.order_by("id")
    assert len(jobs) == 2
    first_file = Path(jobs[0].inputs["data"]) / "annotations" / "instances_train.json"
    second_file = Path(jobs[1].inputs["data"]) / "annotations" / "instances_train.json"
    assert os.path.samefile(first_file, second_file)  # unpacked once, linked into each job's folder


def test_a_failed_export_fails_the_staging_with_its_reason(researcher, version):
    staging = submit(researcher, version)
    ExportJob.objects.filter(pk=staging.export_id).update(state=ExportState.FAILED, error="image x is missing")
    staging_advance(staging_id=staging.pk)
    staging.refresh_from_db()
    assert staging.state == StagingState.FAILED and "image x is missing" in staging.error
    assert not Job.objects.exists()


def test_it_refuses_another_teams_version_and_members_without_the_right(outsider, annotator, version):
    with pytest.raises(Http404):
        submit(outsider, version)
    with pytest.raises(PermissionDenied):
        submit(annotator, version)
    assert not InputStaging.objects.exists() and not ExportJob.objects.exists()


def test_a_job_field_the_scheduler_refuses_is_a_400_and_nothing_is_written(researcher, version):
    with pytest.raises(ValidationError) as refused:
        staged_job_submit(
            user=researcher, dataset_version_id=version.pk, job=dict(JOB, command="  ", time_limit=timedelta(0))
        )
    assert "command" in refused.value.message_dict
    with pytest.raises(ValidationError) as bad_option:
        submit(researcher, version, export_options={"layout": "sideways"})
    assert "export_options.layout" in bad_option.value.message_dict
    assert not InputStaging.objects.exists() and not ExportJob.objects.exists() and not Job.objects.exists()
