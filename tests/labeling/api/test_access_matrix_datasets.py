"""Role × operation → status over every dataset endpoint (docs/decisions.md §2): team A sees, its researchers,
team admins and site admins change; team B's outsider gets 404 everywhere, never 403."""

import pytest

from labeling.services.imports import upload_import_create
from labeling.services.ingest import import_job_run
from tests.actors import api_client_for
from tests.labeling.conftest import png_bytes, upload

pytestmark = pytest.mark.django_db

ACTORS = ["researcher", "annotator", "reviewer", "team_admin", "admin", "outsider"]
# expected status per actor, in ACTORS order
READ = [200, 200, 200, 200, 200, 404]
READ_FILE = [200, 200, 200, 200, 200, 404]
CHANGE = [200, 403, 403, 200, 200, 404]
ASYNC = [202, 403, 403, 202, 202, 404]


@pytest.fixture
def imported(dataset, researcher):
    job = upload_import_create(dataset=dataset, user=researcher, files=[upload("a.png", png_bytes())])
    import_job_run(import_job_id=job.pk)
    item = dataset.items.get()
    return {"dataset": dataset.pk, "job": job.pk, "item": item.pk, "image": item.slices.get().pk}


def operations(ids):
    d, job, item, image = ids["dataset"], ids["job"], ids["item"], ids["image"]
    return [
        ("get", f"/api/v1/datasets/{d}/", None, READ),
        ("patch", f"/api/v1/datasets/{d}/", {"description": "x"}, CHANGE),
        ("get", f"/api/v1/datasets/{d}/items/", None, READ),
        ("get", f"/api/v1/items/{item}/", None, READ),
        ("get", f"/api/v1/items/{item}/predictions/", None, READ),
        ("get", f"/api/v1/import-jobs/{job}/", None, READ),
        ("get", f"/api/v1/images/{image}/tiles/image.dzi", None, READ_FILE),
        ("get", f"/api/v1/images/{image}/tiles/image_files/0/0_0.jpeg", None, READ_FILE),
        ("get", f"/api/v1/images/{image}/thumbnail/", None, READ_FILE),
        ("get", f"/api/v1/images/{image}/original/", None, READ_FILE),
        ("post", f"/api/v1/datasets/{d}/uploads/", "upload", ASYNC),
        ("post", f"/api/v1/datasets/{d}/imports/", "archive", ASYNC),
    ]


def payload(kind):
    import io
    import zipfile

    if kind == "upload":
        return {"files": [upload("b.png", png_bytes(seed=9))]}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("c.png", png_bytes(seed=11))
    return {"archive": upload("c.zip", buffer.getvalue(), "application/zip")}


@pytest.mark.parametrize("actor_index, actor", list(enumerate(ACTORS)))
def test_permission_matrix(request, imported, actor_index, actor):
    client = api_client_for(request.getfixturevalue(actor))
    for method, url, body, expected in operations(imported):
        if body in ("upload", "archive"):
            response = client.post(url, payload(body), format="multipart")
        elif body is not None:
            response = getattr(client, method)(url, body, format="json")
        else:
            response = getattr(client, method)(url)
        assert response.status_code == expected[actor_index], (actor, method, url, response.status_code)


def test_the_dataset_list_shows_own_teams_only(imported, researcher, outsider, admin, annotator):
    assert [d["id"] for d in api_client_for(researcher).get("/api/v1/datasets/").json()["results"]] == [
        imported["dataset"]
    ]
    assert [d["id"] for d in api_client_for(annotator).get("/api/v1/datasets/").json()["results"]] == [
        imported["dataset"]
    ]
    assert api_client_for(outsider).get("/api/v1/datasets/").json()["results"] == []
    assert [d["id"] for d in api_client_for(admin).get("/api/v1/datasets/").json()["results"]] == [imported["dataset"]]


@pytest.mark.parametrize(
    "actor, expected",
    [
        ("researcher", 201),
        ("team_admin", 201),
        ("admin", 201),
        ("annotator", 403),
        ("reviewer", 403),
        ("outsider", 400),
    ],
)
def test_who_creates_datasets_in_team_a(request, team_a, actor, expected):
    client = api_client_for(request.getfixturevalue(actor))
    response = client.post("/api/v1/datasets/", {"team": team_a.pk, "name": "New"}, format="json")
    assert response.status_code == expected, response.content


def test_anonymous_callers_get_401(imported):
    from rest_framework.test import APIClient

    assert APIClient().get(f"/api/v1/datasets/{imported['dataset']}/").status_code == 401
    assert APIClient().get(f"/api/v1/images/{imported['image']}/thumbnail/").status_code == 401
