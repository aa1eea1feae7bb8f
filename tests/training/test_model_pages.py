"""The job page's "Register model" button (offered by training through scheduler.job_actions), the
register form, and the model page's lineage, aliases and history."""

from tests.training.conftest import finished_job, stored_files, write_output
from training.models import ModelVersion, RegisteredModel
from training.services import registry


def test_a_succeeded_job_offers_register_model_to_its_researchers(client, researcher, annotator, trained_job):
    client.force_login(researcher)
    page = client.get(f"/jobs/{trained_job.pk}/").content.decode()
    assert f'href="/models/register/?job={trained_job.pk}"' in page

    client.force_login(annotator)
    assert "/models/register/" not in client.get(f"/jobs/{trained_job.pk}/").content.decode()


def test_a_job_that_did_not_succeed_offers_no_button(client, researcher, team_a, trained_job):
    failed = finished_job(researcher, team_a, inputs=trained_job.inputs, state="failed")
    client.force_login(researcher)

    assert "/models/register/" not in client.get(f"/jobs/{failed.pk}/").content.decode()


def test_the_form_registers_and_the_model_page_shows_the_lineage(client, researcher, trained_job, dataset_version):
    client.force_login(researcher)
    form = client.get(f"/models/register/?job={trained_job.pk}").content.decode()
    assert '<option value="model.pt"' in form and '<option value="metrics.json"' in form

    body = {"job": trained_job.pk, "name": "detector", "checkpoint": "model.pt", "metrics_file": "metrics.json"}
    response = client.post("/models/register/", body)

    version = ModelVersion.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/models/{version.model_id}/"
    registry.alias_move(user=researcher, model=version.model, alias="staging", number=1)
    page = client.get(response["Location"]).content.decode()
    assert f'href="/labeling/versions/{dataset_version.pk}/"' in page
    assert f'href="/jobs/{trained_job.pk}/">job {trained_job.pk}</a>' in page
    assert "@staging" in page and "map50 0.42" in page


def test_a_bad_checkpoint_on_the_form_is_said_and_nothing_is_written(client, researcher, trained_job):
    write_output(trained_job, "broken.pt", b"nope")
    client.force_login(researcher)

    body = {"job": trained_job.pk, "name": "detector", "checkpoint": "broken.pt"}
    page = client.post("/models/register/", body).content.decode()

    assert "does not load as a torch state_dict" in page
    assert not RegisteredModel.objects.exists() and not ModelVersion.objects.exists() and stored_files() == []


def test_another_teams_model_and_job_pages_answer_404(client, researcher, outsider, model, trained_job):
    client.force_login(outsider)

    assert client.get(f"/models/{model.pk}/").status_code == 404
    assert client.get(f"/models/register/?job={trained_job.pk}").status_code == 404
    assert client.get("/models/register/?job=abc").status_code == 404
    assert "detector" not in client.get("/models/").content.decode()
