"""The export job (services/exports.py): a missing stored image fails it with a reason, and the
records and metadata it writes come from the frozen version."""

import pytest

from labeling import storage
from labeling.models import ExportState
from labeling.services.exports import export_create, export_job_run, export_meta, version_records
from tests.labeling.formats.helpers import annotated_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(dataset, researcher):
    return annotated_version(dataset, researcher)


def test_a_missing_image_fails_the_job_with_a_reason(version, researcher):
    for path in storage.dataset_root(dataset_id=version.dataset_id).joinpath("images").iterdir():
        path.unlink()
        break
    job = export_create(version=version, user=researcher, format="coco", options={"include_images": True})
    export_job_run(export_job_id=job.pk)
    job.refresh_from_db()
    assert job.state == ExportState.FAILED and "is missing" in job.error
    export_job_run(export_job_id=job.pk)  # a re-delivery of finished work changes nothing
    assert not storage.export_workdir(dataset_id=job.dataset_id, job_id=job.pk).exists()


def test_records_and_meta_come_from_the_frozen_version(version):
    records = list(version_records(version))
    assert len(records) == 3 and {r.split for r in records} == {"train"}
    assert "flashback" in [c["name"] for c in export_meta(version).classes]
