"""/api/v1/datasets/, /items/ and the image file endpoints: create, change, page, cache headers."""

import pytest

from labeling.models import Dataset
from labeling.services.datasets import NAME_TAKEN, NO_SUCH_SERIES, NO_SUCH_TEAM, series_create
from labeling.services.imports import upload_import_create
from labeling.services.ingest import import_job_run
from tests.actors import api_client_for
from tests.labeling.conftest import png_bytes, upload

pytestmark = pytest.mark.django_db


def test_a_new_dataset_has_the_webtoon_label_schema(researcher, team_a):
    response = api_client_for(researcher).post("/api/v1/datasets/", {"team": team_a.pk, "name": "S1"}, format="json")
    assert response.status_code == 201
    assert response["Location"] == f"/api/v1/datasets/{response.json()['id']}/"
    classes = {c["name"]: c for c in response.json()["label_schema"]["classes"]}
    body = response.json()
    assert list(classes) == ["panel", "speech_bubble", "character", "text", "sfx", "flashback"]
    assert classes["character"]["attributes"] == [{"name": "name", "type": "character"}]
    assert classes["text"]["attributes"][0] == {"name": "transcription", "type": "text"}
    assert classes["sfx"]["shapes"][0] == "polygon"
    assert [c["hotkey"] for c in body["label_schema"]["classes"]][:5] == ["1", "2", "3", "4", "5"]


def test_names_are_unique_per_team_and_schemas_need_classes(researcher, team_a, outsider):
    client = api_client_for(researcher)
    client.post("/api/v1/datasets/", {"team": team_a.pk, "name": "S1"}, format="json")
    again = client.post("/api/v1/datasets/", {"team": team_a.pk, "name": "S1"}, format="json")
    assert again.status_code == 400 and again.json()["errors"] == {"name": [NAME_TAKEN]}
    bad = client.post(
        "/api/v1/datasets/", {"team": team_a.pk, "name": "S2", "label_schema": {"classes": []}}, format="json"
    )
    assert bad.status_code == 400 and bad.json()["errors"] == {
        "label_schema": ["The label schema needs a non-empty list of classes, each with a unique name."]
    }
    other = api_client_for(outsider).post("/api/v1/datasets/", {"team": team_a.pk, "name": "S3"}, format="json")
    assert other.status_code == 400 and other.json()["errors"] == {"team": [NO_SUCH_TEAM]}
    assert list(Dataset.objects.values_list("name", flat=True)) == ["S1"]


def test_a_series_of_another_team_is_refused_in_the_words_of_one_that_does_not_exist(researcher, team_a, team_b):
    """The refusal tells nobody whether another team has a series of that id (nor asserts it does)."""
    theirs = series_create(team_id=team_b.pk, title="Their webtoon")
    client = api_client_for(researcher)
    answers = [
        client.post("/api/v1/datasets/", {"team": team_a.pk, "name": f"S{pk}", "series": pk}, format="json")
        for pk in (theirs.pk, theirs.pk + 1000)
    ]
    assert [a.status_code for a in answers] == [400, 400]
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["errors"] == {"series": [NO_SUCH_SERIES]}
    assert "another team" not in answers[0].content.decode()


def test_items_come_in_cursor_pages_newest_first_with_filters(researcher, dataset):
    job = upload_import_create(
        dataset=dataset, user=researcher, files=[upload(f"{i}.png", png_bytes(seed=i)) for i in range(5)]
    )
    import_job_run(import_job_id=job.pk)
    client = api_client_for(researcher)
    first = client.get(f"/api/v1/datasets/{dataset.pk}/items/?page_size=2").json()
    names = [item["name"] for item in first["results"]]
    second = client.get(first["next"]).json()
    names += [item["name"] for item in second["results"]]
    names += [item["name"] for item in client.get(second["next"]).json()["results"]]
    assert names == ["4.png", "3.png", "2.png", "1.png", "0.png"]
    assert "count" not in first  # no COUNT over the table
    assert first["results"][0]["slices"][0]["dzi_url"].endswith("/tiles/image.dzi")
    assert client.get(f"/api/v1/datasets/{dataset.pk}/items/?kind=episode").json()["results"] == []
    assert len(client.get(f"/api/v1/datasets/{dataset.pk}/items/?status=new").json()["results"]) == 5
    assert client.get(f"/api/v1/datasets/{dataset.pk}/items/?near_duplicate=maybe").status_code == 400


@pytest.fixture
def image(dataset, researcher):
    job = upload_import_create(
        dataset=dataset, user=researcher, files=[upload("strip <1>.png", png_bytes(width=200, height=900))]
    )
    import_job_run(import_job_id=job.pk)
    return dataset.slices.get()


def test_tiles_have_an_etag_long_cache_and_answer_304(researcher, image):
    client = api_client_for(researcher)
    response = client.get(f"/api/v1/images/{image.pk}/tiles/image_files/10/0_3.jpeg")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, max-age=31536000, immutable"
    again = client.get(f"/api/v1/images/{image.pk}/tiles/image_files/10/0_3.jpeg", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    assert client.get(f"/api/v1/images/{image.pk}/tiles/image_files/10/9_9.jpeg").status_code == 404
    thumb = client.get(f"/api/v1/images/{image.pk}/thumbnail/")
    assert thumb.status_code == 200 and thumb["ETag"] and (image.thumbnail_width, image.thumbnail_height) == (200, 384)


def test_the_original_is_only_ever_a_download(researcher, image):
    response = api_client_for(researcher).get(f"/api/v1/images/{image.pk}/original/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == png_bytes(width=200, height=900)
