"""The dataset pages: list + create, the thumbnail grid's keyset pages, upload and viewer access."""

import json

import pytest

from labeling.models import Dataset
from labeling.services.imports import upload_import_create
from labeling.services.ingest import import_job_run
from tests.labeling.conftest import png_bytes, upload

pytestmark = pytest.mark.django_db


def test_researchers_create_datasets_from_the_list(client, researcher, team_a):
    client.force_login(researcher)
    page = client.get("/labeling/")
    assert b'id="dataset-create"' in page.content and b"No datasets yet." in page.content
    response = client.post("/labeling/", {"team": team_a.pk, "name": "Season 1"})
    dataset = Dataset.objects.get(name="Season 1")
    assert response.status_code == 302 and response["Location"] == f"/labeling/datasets/{dataset.pk}/"
    assert b"Season 1" in client.get("/labeling/").content


def test_annotators_see_datasets_but_no_create_form_or_upload(client, annotator, dataset):
    client.force_login(annotator)
    page = client.get("/labeling/")
    assert b'id="dataset-create"' not in page.content and b"Strips" in page.content
    assert b"Upload images" not in client.get(f"/labeling/datasets/{dataset.pk}/").content
    assert client.get(f"/labeling/datasets/{dataset.pk}/upload/").status_code == 403


def test_other_teams_get_404_on_every_page(client, outsider, dataset, researcher):
    job = upload_import_create(dataset=dataset, user=researcher, files=[upload("a.png", png_bytes())])
    import_job_run(import_job_id=job.pk)
    client.force_login(outsider)
    item = dataset.items.get()
    for url in [
        f"/labeling/datasets/{dataset.pk}/",
        f"/labeling/datasets/{dataset.pk}/upload/",
        f"/labeling/items/{item.pk}/",
    ]:
        assert client.get(url).status_code == 404, url
    assert b"Strips" not in client.get("/labeling/").content


def test_the_grid_pages_by_keyset_and_shows_thumbnails(client, researcher, dataset, monkeypatch):
    monkeypatch.setattr("labeling.views.datasets.GRID_PAGE_SIZE", 2)
    job = upload_import_create(
        dataset=dataset, user=researcher, files=[upload(f"{i}.png", png_bytes(seed=i)) for i in range(3)]
    )
    import_job_run(import_job_id=job.pk)
    client.force_login(researcher)
    first = client.get(f"/labeling/datasets/{dataset.pk}/")
    cells = first.context["cells"]
    assert [c["item"].name for c in cells] == ["2.png", "1.png"]
    assert f'src="/api/v1/images/{cells[0]["cover"].pk}/thumbnail/"'.encode() in first.content
    second = client.get(f"/labeling/datasets/{dataset.pk}/?before={first.context['next_before']}")
    assert [c["item"].name for c in second.context["cells"]] == ["0.png"] and second.context["next_before"] is None


def test_the_viewer_places_episode_slices_at_their_offsets(client, researcher, dataset):
    files = [upload(f"s{i}.png", png_bytes(width=100, height=200 + i, seed=i)) for i in range(3)]
    job = upload_import_create(dataset=dataset, user=researcher, files=files, as_episode=True)
    import_job_run(import_job_id=job.pk)
    client.force_login(researcher)
    item = dataset.items.get()
    page = client.get(f"/labeling/items/{item.pk}/")
    data = page.context["viewer"]
    assert [(s["offset_y"], s["height"]) for s in data["slices"]] == [(0, 200), (200, 201), (401, 202)]
    assert data["slices"][0]["dzi"].endswith("/tiles/image.dzi")
    assert b'id="viewer-data" type="application/json"' in page.content
    assert b"<script>" not in page.content  # page data via json_script; scripts are files
    assert (
        json.loads(page.content.split(b'id="viewer-data" type="application/json">')[1].split(b"</script>")[0]) == data
    )


def test_a_version_is_frozen_from_the_dataset_page(client, researcher, annotator, dataset):
    job = upload_import_create(
        dataset=dataset, user=researcher, files=[upload(f"{i}.png", png_bytes(seed=i)) for i in range(3)]
    )
    import_job_run(import_job_id=job.pk)
    client.force_login(annotator)
    assert client.post(f"/labeling/datasets/{dataset.pk}/versions/", {"seed": "9"}).status_code == 403
    client.force_login(researcher)
    response = client.post(f"/labeling/datasets/{dataset.pk}/versions/", {"seed": "9", "note": "baseline"}, follow=True)
    version = dataset.versions.get()
    assert (version.seed, version.note, version.stats["items"]) == (9, "baseline", 3)
    assert b"Version 1 frozen: 3 items." in response.content and b"v1</a> \xc2\xb7 baseline" in response.content


def test_the_admin_lists_datasets_imports_and_versions(client, admin, researcher, dataset):
    from labeling.services.versions import version_create

    job = upload_import_create(dataset=dataset, user=researcher, files=[upload("a.png", png_bytes())])
    import_job_run(import_job_id=job.pk)
    version = version_create(dataset=dataset, user=researcher, seed=1)
    client.force_login(admin)
    for url in [
        "/admin/labeling/dataset/",
        "/admin/labeling/series/",
        "/admin/labeling/importjob/",
        f"/admin/labeling/importjob/{job.pk}/change/",
        f"/admin/labeling/datasetversion/{version.pk}/change/",
    ]:
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/labeling/importjob/add/").status_code == 403
