"""POST /api/v1/datasets/{id}/imports/: archives, URLs and server folders, each one import job.
The jobs run in this process here (services.ingest.import_job_run); the live worker runs uploads in
test_upload_to_worker.py."""

import http.server
import io
import os
import threading
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling.ingest.archives import REASON_NOT_AN_ARCHIVE
from labeling.models import ImportJob, ImportState, Slice
from labeling.services.imports import FOLDER_ADMINS_ONLY, FOLDER_OUTSIDE_ROOT, NO_SOURCE
from labeling.services.ingest import REASON_FOLDER_ENTRY_NOT_FILE, REASON_NO_IMAGES, import_job_run
from tests.actors import api_client_for
from tests.labeling.conftest import dataset_files, png_bytes

pytestmark = pytest.mark.django_db


def zip_of(*entries) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def post_import(client, dataset, data, fmt="multipart"):
    return client.post(f"/api/v1/datasets/{dataset.pk}/imports/", data, format=fmt)


def run(response) -> ImportJob:
    assert response.status_code == 202, response.content
    job_id = int(response["Location"].rstrip("/").rsplit("/", 1)[1])
    import_job_run(import_job_id=job_id)
    return ImportJob.objects.get(pk=job_id)


def test_an_archive_imports_its_images_and_refuses_unsafe_entries(researcher, dataset):
    archive = zip_of(
        ("ep/001.png", png_bytes()),
        ("../escape.png", png_bytes(seed=1)),
        ("/abs.png", png_bytes(seed=2)),
        ("ep/notes.txt", b"hello"),
        ("ep/002.png", png_bytes(seed=3)),
    )
    job = run(post_import(api_client_for(researcher), dataset, {"archive": SimpleUploadedFile("ep.zip", archive)}))
    assert job.state == ImportState.SUCCEEDED
    files = {f.display_name: (f.outcome, f.code) for f in job.files.all()}
    assert files["ep/001.png"] == ("accepted", "") and files["ep/002.png"] == ("accepted", "")
    assert files["ep/notes.txt"] == ("skipped", "not_an_image")
    assert files["../escape.png"][0] == "refused" and files["/abs.png"][0] == "refused"
    assert sorted(Slice.objects.values_list("source", "source_detail")) == [
        ("archive", "ep.zip :: ep/001.png"),
        ("archive", "ep.zip :: ep/002.png"),
    ]
    # Nothing outside the dataset's storage, nothing left in staging.
    assert all(p.startswith(("images/", "originals/", "tiles/")) for p in dataset_files(dataset.pk))


def test_os_junk_is_ignored_and_other_files_skipped_without_counting_as_refused(researcher, dataset):
    archive = zip_of(
        ("__MACOSX/ep/._001.png", b"\x00\x05\x16\x07"),
        ("ep/._001.png", b"\x00\x05\x16\x07"),
        ("ep/.DS_Store", b"Bud1"),
        ("ep/Thumbs.db", b"x"),
        ("ep/desktop.ini", b"[.ShellClassInfo]"),
        ("ep/001.png", png_bytes()),
        ("ep/credits.pdf", b"%PDF-1.7 ..."),
        ("ep/readme.txt", b"hello"),
    )
    job = run(post_import(api_client_for(researcher), dataset, {"archive": SimpleUploadedFile("ep.zip", archive)}))
    assert job.state == ImportState.SUCCEEDED
    assert (job.accepted, job.refused, job.skipped, job.ignored, job.total) == (1, 0, 2, 5, 3)
    assert sorted(job.files.values_list("display_name", "outcome")) == [
        ("ep/001.png", "accepted"),
        ("ep/credits.pdf", "skipped"),
        ("ep/readme.txt", "skipped"),
    ]
    body = api_client_for(researcher).get(f"/api/v1/import-jobs/{job.pk}/").json()
    assert (body["skipped"], body["ignored"]) == (2, 5)


@pytest.mark.parametrize(
    "entries",
    [[], [("__MACOSX/._a.png", b"x"), (".DS_Store", b"Bud1")], [("notes.txt", b"hello"), ("Thumbs.db", b"x")]],
    ids=["empty", "only-junk", "no-image"],
)
def test_an_archive_with_no_image_fails_with_that_reason(researcher, dataset, entries):
    archive = zip_of(*entries)
    job = run(post_import(api_client_for(researcher), dataset, {"archive": SimpleUploadedFile("ep.zip", archive)}))
    assert (job.state, job.detail) == (ImportState.FAILED, REASON_NO_IMAGES)
    assert not Slice.objects.exists()


def test_an_archive_as_an_episode_keeps_its_order(researcher, dataset):
    archive = zip_of(*[(f"{i:03d}.png", png_bytes(height=100 + i, seed=i)) for i in range(3)])
    job = run(
        post_import(
            api_client_for(researcher),
            dataset,
            {"archive": SimpleUploadedFile("ep.zip", archive), "as_episode": "true", "episode_name": "Ep 2"},
        )
    )
    item = job.episode_item
    assert (item.name, item.slice_count, item.height) == ("Ep 2", 3, 303)
    assert list(item.slices.values_list("offset_y", flat=True)) == [0, 100, 201]


def test_a_file_that_is_not_an_archive_fails_the_job_with_the_reason(researcher, dataset):
    job = run(post_import(api_client_for(researcher), dataset, {"archive": SimpleUploadedFile("x.zip", b"not a zip")}))
    assert (job.state, job.detail) == (ImportState.FAILED, REASON_NOT_AN_ARCHIVE)
    assert dataset_files(dataset.pk) == []


def test_exactly_one_source_is_required(researcher, dataset):
    response = post_import(api_client_for(researcher), dataset, {"url": "https://example.com/a.png", "folder": "x"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"non_field_errors": [NO_SOURCE]}


class RecordingHandler(http.server.BaseHTTPRequestHandler):
    hits: list = []

    def do_GET(self):
        RecordingHandler.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(png_bytes())

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    RecordingHandler.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RecordingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.1", "2130706433", "[::ffff:127.0.0.1]", "0x7f.1"])
def test_url_imports_never_reach_the_local_server(researcher, dataset, local_server, host):
    response = post_import(
        api_client_for(researcher), dataset, {"url": f"http://{host}:{local_server}/a.png"}, fmt="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["errors"]["url"][0]  # the reason, from labeling.ingest.remote
    assert ImportJob.objects.count() == 0
    assert RecordingHandler.hits == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://10.0.0.1/x.png",
        "file:///etc/passwd",
        "ftp://example.com/a.png",
    ],
)
def test_url_imports_refuse_private_addresses_and_other_schemes(researcher, dataset, url):
    response = post_import(api_client_for(researcher), dataset, {"url": url}, fmt="json")
    assert response.status_code == 400
    assert ImportJob.objects.count() == 0


def test_folder_import_is_for_site_admins(researcher, dataset, settings, tmp_path):
    settings.DATASET_IMPORT_ROOT = str(tmp_path)
    response = post_import(api_client_for(researcher), dataset, {"folder": "."}, fmt="json")
    assert response.status_code == 403
    assert response.json()["detail"] == FOLDER_ADMINS_ONLY


def test_folder_import_reads_a_folder_under_the_root_only(admin, dataset, settings, tmp_path):
    root = tmp_path / "imports"
    (root / "ep1").mkdir(parents=True)
    (root / "ep1" / "001.png").write_bytes(png_bytes())
    (root / "ep1" / "002.png").write_bytes(png_bytes(seed=1))
    os.symlink("/etc/passwd", root / "ep1" / "003.png")
    (root / "ep1" / ".DS_Store").write_bytes(b"Bud1")
    (tmp_path / "secret").mkdir()
    settings.DATASET_IMPORT_ROOT = str(root)
    client = api_client_for(admin)
    for outside in ["..", "../secret", "/etc", "ep1/../../secret"]:
        response = post_import(client, dataset, {"folder": outside}, fmt="json")
        assert response.status_code == 400 and response.json()["errors"] == {"folder": [FOLDER_OUTSIDE_ROOT]}
    job = run(post_import(client, dataset, {"folder": "ep1"}, fmt="json"))
    assert [(f.display_name, f.outcome) for f in job.files.all()] == [
        ("001.png", "accepted"),
        ("002.png", "accepted"),
        ("003.png", "refused"),
    ]
    assert job.files.get(display_name="003.png").reason == REASON_FOLDER_ENTRY_NOT_FILE
    assert job.ignored == 1
    assert (root / "ep1" / "001.png").exists()  # the source folder is read, never moved


def test_the_worker_refuses_a_url_that_resolves_locally_by_fetch_time(researcher, dataset, local_server):
    # The request's check passed (think DNS rebinding: a global address then, 127.0.0.1 now); the
    # worker resolves again, refuses, and the job fails with the reason. The server never hears of it.
    from labeling.models import ImportKind

    job = ImportJob.objects.create(
        dataset=dataset,
        kind=ImportKind.URL,
        created_by=researcher,
        source_detail=f"http://127.0.0.1:{local_server}/a.png",
    )
    import_job_run(import_job_id=job.pk)
    job.refresh_from_db()
    assert job.state == ImportState.FAILED and job.detail
    assert RecordingHandler.hits == []
    assert Slice.objects.count() == 0 and dataset_files(dataset.pk) == []


def test_a_fetched_url_is_imported_like_an_upload(researcher, dataset, monkeypatch):
    from labeling.ingest.remote import RemoteFile
    from labeling.services import ingest

    fetched = []

    def fake_fetch(*, url, limits):  # the network is not reachable here; fetch_url has its own tests
        fetched.append(url)
        return RemoteFile(url=url, data=png_bytes(seed=21), content_type="image/png", name="cover.png")

    monkeypatch.setattr(ingest, "fetch_url", fake_fetch)
    monkeypatch.setattr("labeling.services.imports.check_url", lambda *, url: None)
    job = run(
        post_import(api_client_for(researcher), dataset, {"url": "https://cdn.example.com/cover.png"}, fmt="json")
    )
    assert fetched == ["https://cdn.example.com/cover.png"]
    assert [(f.display_name, f.outcome) for f in job.files.all()] == [("cover.png", "accepted")]
    assert Slice.objects.get().source_detail == "https://cdn.example.com/cover.png :: cover.png"
