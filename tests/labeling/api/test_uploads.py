"""POST /api/v1/datasets/{id}/uploads/: the cheap checks answer at once (docs/decisions.md §7); the rest is a job."""

import pytest

from labeling.ingest.images import (
    REASON_ANIMATED,
    REASON_EMPTY,
    REASON_FILE_TOO_LARGE,
    REASON_NOT_AN_IMAGE,
    REASON_SIDE_OVER_LIMIT,
    REASON_SVG,
    REASON_TOO_MANY_FILES,
)
from labeling.models import ImportFile, ImportJob, Item, Slice
from labeling.services.imports import NO_FILES, ONLY_OS_JUNK
from tests.actors import api_client_for
from tests.labeling.conftest import dataset_files, png_bytes, upload
from tests.labeling.ingest import corpus

pytestmark = pytest.mark.django_db

SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def post_files(client, dataset, files, **extra):
    return client.post(f"/api/v1/datasets/{dataset.pk}/uploads/", {"files": files, **extra}, format="multipart")


def assert_nothing_created(dataset):
    assert ImportJob.objects.count() == 0 and ImportFile.objects.count() == 0
    assert Item.objects.count() == 0 and Slice.objects.count() == 0
    assert dataset_files(dataset.pk) == []


def test_it_accepts_files_with_202_and_the_job_location(researcher, dataset, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_files(
            api_client_for(researcher), dataset, [upload("a.png", png_bytes()), upload("b.png", png_bytes(seed=3))]
        )
    assert response.status_code == 202, response.content
    job = ImportJob.objects.get()
    assert response["Location"] == f"/api/v1/import-jobs/{job.pk}/"
    assert response.json()["state"] == "queued" and response.json()["total"] == 2
    assert [f.display_name for f in job.files.all()] == ["a.png", "b.png"]
    assert dataset_files(dataset.pk) == [f"staging/{job.pk}/00000", f"staging/{job.pk}/00001"]
    assert len(callbacks) == 1  # the task is sent only after commit


def test_101_files_are_413_with_the_limit(researcher, dataset):
    files = [upload(f"{i}.png", b"x") for i in range(101)]
    response = post_files(api_client_for(researcher), dataset, files)
    assert response.status_code == 413
    assert response.json()["limit"] == 100
    assert response.json()["errors"] == {"files": [REASON_TOO_MANY_FILES.format(count=101, limit=100)]}
    assert_nothing_created(dataset)


def test_a_60_mb_file_is_413_with_the_limit(researcher, dataset):
    data = png_bytes() + b"\0" * (60 * 1024 * 1024)
    response = post_files(api_client_for(researcher), dataset, [upload("big.png", data)])
    assert response.status_code == 413
    limit = 50 * 1024 * 1024
    assert response.json()["limit"] == limit
    assert response.json()["errors"]["files"] == [
        f"big.png: {REASON_FILE_TOO_LARGE.format(size=len(data), limit=limit)}"
    ]
    assert_nothing_created(dataset)


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("empty.png", b"", REASON_EMPTY),
        ("vector.svg", SVG, REASON_SVG),
        ("notes.png", b"these are my notes, not a picture\n" * 10, REASON_NOT_AN_IMAGE),
        ("anim.gif", corpus.animated_gif(), REASON_ANIMATED.format(format="GIF")),
    ],
    ids=["zero-bytes", "svg", "text-named-png", "animated-gif"],
)
def test_files_the_header_refuses_are_400_with_a_clear_reason(researcher, dataset, name, data, reason):
    response = post_files(api_client_for(researcher), dataset, [upload("fine.png", png_bytes()), upload(name, data)])
    assert response.status_code == 400
    assert response.json()["errors"] == {"files": [f"{name}: {reason}"]}
    assert "limit" not in response.json()
    assert_nothing_created(dataset)


def test_a_bomb_header_is_413_at_the_request(researcher, dataset):
    # 800 x 240,000 declared in a few bytes: the header check sees it without decoding a pixel.
    response = post_files(
        api_client_for(researcher), dataset, [upload("bomb.png", corpus.png_header_only(800, 240_000))]
    )
    assert response.status_code == 413
    assert response.json()["limit"] == 150_000
    reason = REASON_SIDE_OVER_LIMIT.format(width=800, height=240000, limit=150000)
    assert response.json()["errors"]["files"] == [f"bomb.png: {reason}"]
    assert_nothing_created(dataset)


def test_a_request_without_files_is_400(researcher, dataset):
    response = api_client_for(researcher).post(f"/api/v1/datasets/{dataset.pk}/uploads/", {}, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"] == {"files": [NO_FILES]}
    assert_nothing_created(dataset)


def test_unsafe_names_are_display_text_never_paths(researcher, dataset):
    names = ["../../etc/passwd.png", "ｷｬﾗ-第1話.png", "x" * 300 + ".png"]
    files = [upload(name, png_bytes(seed=i)) for i, name in enumerate(names)]
    response = post_files(api_client_for(researcher), dataset, files)
    assert response.status_code == 202, response.content
    job = ImportJob.objects.get()
    assert [f.staging_name for f in job.files.all()] == ["00000", "00001", "00002"]
    shown = [f.display_name for f in job.files.all()]
    assert shown[0] == "passwd.png"  # Django's multipart parser already drops the client's directories
    assert shown[1] == "ｷｬﾗ-第1話.png" and len(shown[2]) == 255
    assert all(path.startswith(f"staging/{job.pk}/") for path in dataset_files(dataset.pk))


def test_files_the_operating_system_made_are_ignored_and_counted(researcher, dataset):
    """A browser's folder upload sends .DS_Store and friends: they used to refuse the whole request."""
    files = [upload("a.png", png_bytes()), upload(".DS_Store", b"\0\0\0\1Bud1"), upload("._a.png", b"\0\5\26\7")]
    response = post_files(api_client_for(researcher), dataset, files)
    assert response.status_code == 202, response.content
    job = ImportJob.objects.get()
    assert (job.total, job.ignored) == (1, 2)
    assert [f.display_name for f in job.files.all()] == ["a.png"]


def test_an_upload_of_only_os_junk_says_so(researcher, dataset):
    response = post_files(api_client_for(researcher), dataset, [upload("Thumbs.db", b"\xd0\xcf\x11\xe0")])
    assert response.status_code == 400
    assert response.json()["errors"] == {"files": [ONLY_OS_JUNK.format(count=1)]}
    assert_nothing_created(dataset)


def test_more_files_than_django_parses_are_refused_in_the_error_shape(researcher, dataset):
    """Past DATA_UPLOAD_MAX_NUMBER_FILES Django refuses before the view: still JSON, never its HTML page."""
    files = [upload(f"{i}.png", b"x") for i in range(151)]
    response = post_files(api_client_for(researcher), dataset, files)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "files" in response.json()["detail"].lower() and response.json()["errors"] == {}
    assert_nothing_created(dataset)
