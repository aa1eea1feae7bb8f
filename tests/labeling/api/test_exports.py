"""Export API: role × operation (own team, other team 404, annotator 403), 400s naming the field,
202 + Location, the status resource and the streamed download."""

import pytest

from labeling.services.exports import export_job_run
from tests.actors import api_client_for
from tests.labeling.formats.helpers import annotate, box, freeze, make_item

pytestmark = pytest.mark.django_db

ACTORS = ["researcher", "annotator", "reviewer", "team_admin", "admin", "outsider"]
CREATE = [202, 403, 403, 202, 202, 404]
READ = [200, 200, 200, 200, 200, 404]


@pytest.fixture
def version(dataset, researcher):
    annotate(make_item(dataset, [200], name="a"), [box("p1", "panel", 1, 2, 30, 40)])
    return freeze(dataset, researcher)


@pytest.fixture
def finished(version, researcher):
    created = api_client_for(researcher).post(
        f"/api/v1/versions/{version.pk}/exports/", {"format": "coco"}, format="json"
    )
    export_job_run(export_job_id=created.json()["id"])
    return created.json()["id"]


@pytest.mark.parametrize("actor_index, actor", list(enumerate(ACTORS)))
def test_permission_matrix(request, version, finished, actor_index, actor):
    client = api_client_for(request.getfixturevalue(actor))
    cases = [
        ("post", f"/api/v1/versions/{version.pk}/exports/", CREATE),
        ("get", f"/api/v1/versions/{version.pk}/exports/", READ),
        ("get", f"/api/v1/export-jobs/{finished}/", READ),
        ("get", f"/api/v1/export-jobs/{finished}/download/", READ),
    ]
    for method, url, expected in cases:
        response = getattr(client, method)(url, {"format": "yolo"} if method == "post" else None, format="json")
        assert response.status_code == expected[actor_index], (actor, method, url)


def test_create_answers_202_with_location_and_the_job_reports_its_download(version, researcher):
    client = api_client_for(researcher)
    created = client.post(
        f"/api/v1/versions/{version.pk}/exports/",
        {"format": "yolo", "options": {"tile_height": 64, "include_images": False}},
        format="json",
    )
    assert created.status_code == 202 and created["Location"] == f"/api/v1/export-jobs/{created.json()['id']}/"
    body = client.get(created["Location"]).json()
    assert body["state"] == "queued" and body["download_url"] is None and body["options"]["tile_height"] == 64
    not_ready = client.get(f"{created['Location']}download/")
    assert not_ready.status_code == 404
    export_job_run(export_job_id=body["id"])
    body = client.get(created["Location"]).json()
    assert (
        body["state"] == "succeeded"
        and body["progress"] == 1.0
        and body["counts"]["annotations"] == 1
        and body["counts"]["images"] == 4
    )
    download = client.get(body["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert download["Content-Disposition"].startswith('attachment; filename="strips-v1-yolo.zip"')
    assert b"".join(download.streaming_content)[:2] == b"PK"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"format": "pdf"}, "format"),
        ({"format": "coco", "options": {"tile_height": 64}}, "options.tile_height"),
        ({"format": "yolo", "options": {"tile_height": 5}}, "options.tile_height"),
        ({"format": "yolo", "options": {"task": "pose"}}, "options.task"),
        ({"format": "coco", "options": {"layout": "diagonal"}}, "options.layout"),
        ({"format": "voc", "options": {"include_images": "maybe"}}, "options.include_images"),
        ({"format": "voc", "options": {"splits": ["holdout"]}}, "options.splits"),
        ({"format": "label_studio", "options": []}, "options"),
        ({}, "format"),
    ],
)
def test_bad_options_are_400_naming_the_field(version, researcher, body, field):
    response = api_client_for(researcher).post(f"/api/v1/versions/{version.pk}/exports/", body, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == [field]


def test_other_teams_versions_and_jobs_are_404_even_for_their_researchers(version, finished, outsider):
    client = api_client_for(outsider)
    assert client.post(f"/api/v1/versions/{version.pk}/exports/", {"format": "pdf"}, format="json").status_code == 404


def test_the_export_page_has_no_inline_script_and_links_from_the_version(
    version, finished, researcher, annotator, outsider, client
):
    client.force_login(researcher)
    page = client.get(f"/labeling/versions/{version.pk}/export/")
    html = page.content.decode()
    assert page.status_code == 200 and 'id="export-form"' in html and "labeling/export.js" in html
    assert f"/api/v1/export-jobs/{finished}/download/" in html
    assert '<script id="export-page" type="application/json">' in html and "<script>" not in html
    assert (
        f"/labeling/versions/{version.pk}/export/" in client.get(f"/labeling/versions/{version.pk}/").content.decode()
    )
    client.force_login(annotator)
    assert 'id="export-form"' not in client.get(f"/labeling/versions/{version.pk}/export/").content.decode()
    client.force_login(outsider)
    assert client.get(f"/labeling/versions/{version.pk}/export/").status_code == 404
