"""Lineage pages: the dataset version page's "Lineage" section (offered by training through
labeling.version_sections) and a model version's page with its chain back; other teams get 404."""

import re

from tests.training.lineage_builders import build_lineage


def test_the_dataset_version_page_shows_jobs_and_models_that_learned_from_it(
    client, annotator, researcher, team_a, dataset_version
):
    built = build_lineage(researcher=researcher, team=team_a, version=dataset_version)
    client.force_login(annotator)

    page = client.get(f"/labeling/versions/{dataset_version.pk}/").content.decode()

    section = page[page.index('id="lineage"') : page.index("</section>", page.index('id="lineage"'))]
    detector = built.detector_v1
    assert f'href="/models/{detector.model_id}/versions/1/">detector v1</a>' in section
    assert f'href="/models/{built.segmenter_v1.model_id}/versions/1/">segmenter v1</a>' in section
    assert f'<tr data-job="{built.trained.pk}">' in section and f'<tr data-job="{built.unregistered.pk}">' in section
    assert f'data-job="{built.elsewhere.pk}"' not in section
    assert "none registered" in section


def test_a_version_no_job_read_says_so(client, researcher, dataset_version):
    client.force_login(researcher)

    page = client.get(f"/labeling/versions/{dataset_version.pk}/").content.decode()

    assert "No model has been registered from a job that read this version." in page
    assert f"<code>labeling:version:{dataset_version.pk}</code>" in page


def test_the_model_version_page_leads_back_to_the_data(client, researcher, team_a, dataset_version):
    built = build_lineage(researcher=researcher, team=team_a, version=dataset_version)
    client.force_login(researcher)

    page = client.get(f"/models/{built.detector_v1.model_id}/versions/1/").content.decode()

    chain = re.findall(r'data-step="([a-z-]+)"', page)
    assert chain == ["model-version", "job", "dataset-version", "dataset"]
    assert f'href="/jobs/{built.trained.pk}/">{built.trained.pk} · train</a>' in page
    assert f'href="/labeling/versions/{dataset_version.pk}/">v1</a>' in page
    assert f'href="/labeling/datasets/{dataset_version.dataset_id}/">Strips</a>' in page
    model_page = client.get(f"/models/{built.detector_v1.model_id}/").content.decode()
    assert f'href="/models/{built.detector_v1.model_id}/versions/1/">v1</a>' in model_page


def test_other_teams_get_404_on_both_pages(client, researcher, outsider, team_a, dataset_version):
    built = build_lineage(researcher=researcher, team=team_a, version=dataset_version)
    client.force_login(outsider)

    assert client.get(f"/labeling/versions/{dataset_version.pk}/").status_code == 404
    assert client.get(f"/models/{built.detector_v1.model_id}/versions/1/").status_code == 404
    client.force_login(researcher)
    assert client.get(f"/models/{built.detector_v1.model_id}/versions/9/").status_code == 404


def test_the_section_costs_the_same_queries_however_many_jobs_and_models(client, researcher, team_a, dataset_version):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    build_lineage(researcher=researcher, team=team_a, version=dataset_version)
    client.force_login(researcher)
    with CaptureQueriesContext(connection) as few:
        client.get(f"/labeling/versions/{dataset_version.pk}/")
    for _ in range(2):
        build_lineage(researcher=researcher, team=team_a, version=dataset_version)
    with CaptureQueriesContext(connection) as many:
        page = client.get(f"/labeling/versions/{dataset_version.pk}/").content.decode()

    assert page.count("<tr data-job=") == 6
    assert len(many) == len(few)
