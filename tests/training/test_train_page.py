"""Training a model on a dataset version from the browser (issue 21 item 1): the form stages the version
with staged_job_submit and leads to the staging's status page; every refusal writes nothing, another
team's version or staging is a 404 and an annotator may not train (403)."""

import pytest

from labeling.models import ExportJob
from scheduler.models import Job
from training.models import InputStaging, StagingState

pytestmark = pytest.mark.django_db

FORM = {"name": "strip-detector", "command": "python examples/train_detector.py --steps 2", "gpus": "1"}
FORM |= {"time_limit": "10m", "priority": "normal", "export_format": "coco"}


@pytest.fixture(autouse=True)
def gpu(db):
    from tests.scheduler.factories import GpuFactory

    return GpuFactory(model="trainpage-test-gpu")


def test_the_page_offers_the_version_it_was_opened_for(client, researcher, dataset_version):
    client.force_login(researcher)

    page = client.get(f"/models/train/?version={dataset_version.pk}").content.decode()

    assert f'<option value="{dataset_version.pk}" selected>' in page
    assert 'name="command"' in page and 'value="coco"' in page


def test_the_lineage_section_and_the_models_list_link_to_it(client, researcher, dataset_version):
    client.force_login(researcher)

    version_page = client.get(f"/labeling/versions/{dataset_version.pk}/").content.decode()
    models_page = client.get("/models/").content.decode()

    assert f'href="/models/train/?version={dataset_version.pk}">Train a model on this version</a>' in version_page
    assert 'href="/models/train/"' in models_page


def test_submitting_stages_the_version_and_leads_to_its_status(client, researcher, team_a, dataset_version):
    client.force_login(researcher)

    response = client.post(
        "/models/train/", FORM | {"dataset_version": str(dataset_version.pk), "register_as": "strips"}
    )

    staging = InputStaging.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/models/staged/{staging.pk}/"
    assert staging.dataset_version == dataset_version and staging.team == team_a
    assert staging.register_as == "strips" and staging.export_format == "coco"
    assert staging.job_spec["command"] == FORM["command"] and staging.job_spec["time_limit_s"] == 600
    status = client.get(response["Location"]).content.decode()
    assert 'id="staging-state">Staging its inputs</span>' in status
    assert '<meta http-equiv="refresh" content="5">' in status
    assert "strips, registered when the job succeeds" in status


def test_a_failed_staging_says_why_and_stops_refreshing(client, researcher, dataset_version):
    client.force_login(researcher)
    client.post("/models/train/", FORM | {"dataset_version": str(dataset_version.pk)})
    staging = InputStaging.objects.get()
    InputStaging.objects.filter(pk=staging.pk).update(state=StagingState.FAILED, error="the export failed: x")

    status = client.get(f"/models/staged/{staging.pk}/").content.decode()

    assert 'id="staging-error">the export failed: x</p>' in status and "http-equiv" not in status


@pytest.mark.parametrize(
    ("change", "field"),
    [({"command": "  "}, "command"), ({"gpus": "99"}, "gpus"), ({"gpus": "two"}, "gpus")],
)
def test_a_field_the_job_would_be_refused_for_is_shown_beside_it(client, researcher, dataset_version, change, field):
    client.force_login(researcher)

    response = client.post("/models/train/", FORM | {"dataset_version": str(dataset_version.pk)} | change)

    assert response.status_code == 400
    assert f'id="{field}-error"' in response.content.decode()
    assert not InputStaging.objects.exists() and not ExportJob.objects.exists() and not Job.objects.exists()


def test_another_teams_version_is_not_found(client, outsider, dataset_version):
    client.force_login(outsider)

    assert client.get(f"/models/train/?version={dataset_version.pk}").status_code == 404
    assert client.post("/models/train/", FORM | {"dataset_version": str(dataset_version.pk)}).status_code == 404
    assert not InputStaging.objects.exists()


def test_an_annotator_may_not_train(client, annotator, dataset_version):
    client.force_login(annotator)

    assert client.get(f"/models/train/?version={dataset_version.pk}").status_code == 403
    assert client.post("/models/train/", FORM | {"dataset_version": str(dataset_version.pk)}).status_code == 403
    version_page = client.get(f"/labeling/versions/{dataset_version.pk}/").content.decode()
    assert "Train a model on this version" not in version_page
    assert not InputStaging.objects.exists()


def test_another_teams_staging_is_not_found(client, researcher, outsider, dataset_version):
    client.force_login(researcher)
    client.post("/models/train/", FORM | {"dataset_version": str(dataset_version.pk)})
    staging = InputStaging.objects.get()
    client.force_login(outsider)

    assert client.get(f"/models/staged/{staging.pk}/").status_code == 404


def test_a_submitted_staging_links_its_job_and_says_why_no_model_was_registered(
    client, researcher, team_a, dataset_version
):
    from tests.training.conftest import finished_job

    client.force_login(researcher)
    client.post("/models/train/", FORM | {"dataset_version": str(dataset_version.pk), "register_as": "strips"})
    job = finished_job(researcher, team_a, inputs={})
    InputStaging.objects.update(state=StagingState.SUBMITTED, job=job, register_error="the job wrote no model.pt")
    staging = InputStaging.objects.get()

    status = client.get(f"/models/staged/{staging.pk}/").content.decode()

    assert f'href="/jobs/{job.pk}/">{job.pk} · train</a>' in status
    assert "not registered: the job wrote no model.pt" in status and "http-equiv" not in status
