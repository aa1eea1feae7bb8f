"""The worker side of an import (services/ingest.py), run in this process: outcomes per file,
dedup, episodes, no orphan row or file, and idempotent re-delivery. The same code in the real
Celery worker is tested in tests/labeling/api/test_upload_to_worker.py."""

import io

import pytest
from PIL import Image

from labeling.ingest.images import REASON_TRUNCATED
from labeling.models import FileOutcome, ImportJob, ImportState, Item, Slice
from labeling.services import ingest
from labeling.services.imports import upload_import_create
from labeling.services.ingest import REASON_DUPLICATE, import_job_run
from tests.labeling.conftest import dataset_files, png_bytes, stored_files, upload
from tests.labeling.ingest import corpus

pytestmark = pytest.mark.django_db


def run_upload(dataset, user, named_bytes, **options) -> ImportJob:
    job = upload_import_create(dataset=dataset, user=user, files=[upload(n, d) for n, d in named_bytes], **options)
    import_job_run(import_job_id=job.pk)
    job.refresh_from_db()
    return job


def outcomes(job):
    return [(f.display_name, f.outcome, f.code) for f in job.files.order_by("position")]


def stored_image(dataset, sha256) -> Image.Image:
    from labeling import storage

    return Image.open(storage.image_path(dataset_id=dataset.pk, sha256=sha256))


def expected_files(dataset) -> list[str]:
    """The oracle: what the stored rows say should be on disk, built from the rows alone."""
    ext = {"PNG": "png", "JPEG": "jpg"}
    paths = []
    for s in Slice.objects.filter(dataset=dataset):
        paths += [
            f"images/{s.sha256}.png",
            f"originals/{s.sha256}.{ext[s.source_format]}",
            f"tiles/{s.sha256}/{s.sha256}.dzi",
        ]
    return sorted(paths)


def test_a_mixed_upload_accepts_the_good_and_refuses_the_bad_leaving_no_trace(dataset, researcher):
    truncated_jpeg = corpus.first_half(corpus.encoded(corpus.noise(64, 64), "JPEG", quality=95))
    truncated_png = corpus.first_half(corpus.encoded(corpus.noise(64, 64), "PNG"))
    job = run_upload(
        dataset,
        researcher,
        [
            ("good.png", png_bytes()),
            ("cut.jpg", truncated_jpeg),
            ("cut.png", truncated_png),
            ("good2.png", png_bytes(seed=5)),
        ],
    )
    assert job.state == ImportState.SUCCEEDED and job.progress == 1.0
    assert outcomes(job) == [
        ("good.png", "accepted", ""),
        ("cut.jpg", "refused", "truncated"),
        ("cut.png", "refused", "truncated"),
        ("good2.png", "accepted", ""),
    ]
    assert job.files.get(position=1).reason == REASON_TRUNCATED
    assert (job.total, job.accepted, job.refused, job.duplicates) == (4, 2, 2, 0)
    assert Item.objects.filter(dataset=dataset).count() == 2
    assert stored_files(dataset.pk) == expected_files(dataset)
    assert not any(path.startswith("staging/") for path in dataset_files(dataset.pk))
    # One live event per file on the team's topic, then one for the job.
    from portal.realtime.models import Event

    events = list(Event.objects.filter(topic=f"team.{dataset.team_id}").order_by("id").values_list("kind", "payload"))
    assert [kind for kind, _ in events] == [ingest.EVENT_FILE] * 4 + [ingest.EVENT_JOB]
    assert [(p["name"], p["outcome"], p["progress"]) for _, p in events[:4]] == [
        ("good.png", "accepted", 0.25),
        ("cut.jpg", "refused", 0.5),
        ("cut.png", "refused", 0.75),
        ("good2.png", "accepted", 1.0),
    ]


def test_odd_but_valid_images_are_stored_as_their_pixels(dataset, researcher):
    html_tail = png_bytes(seed=2) + b"<html><script>alert(1)</script></html>"
    job = run_upload(
        dataset,
        researcher,
        [
            ("grey16.png", corpus.grey16_png(32768, size=(40, 40))),
            ("cmyk.jpg", corpus.cmyk_jpeg()),
            ("rotated.jpg", corpus.exif_rotated_jpeg(6)),
            ("tail.png", html_tail),
            ("rgba.png", corpus.rgba_png()),
        ],
    )
    assert [o[1] for o in outcomes(job)] == ["accepted"] * 5
    by_name = {s.original_name: s for s in Slice.objects.filter(dataset=dataset)}
    grey = stored_image(dataset, by_name["grey16.png"].sha256)
    assert grey.mode == "L" and abs(grey.getpixel((5, 5)) - 128) <= 1  # scaled, not clipped to white
    cmyk = stored_image(dataset, by_name["cmyk.jpg"].sha256)
    assert cmyk.mode == "RGB"
    red, green, blue = cmyk.getpixel((8, 8))
    assert red > 200 and green < 60 and blue < 60  # C0 M255 Y255 K0 is red
    rotated_source = Image.open(io.BytesIO(corpus.exif_rotated_jpeg(6)))
    rotated = by_name["rotated.jpg"]
    assert (rotated.width, rotated.height) == (rotated_source.height, rotated_source.width)
    tail = stored_image(dataset, by_name["tail.png"].sha256)
    assert tail.format == "PNG" and b"<html>" not in (dataset_root_bytes(dataset, by_name["tail.png"].sha256))
    assert stored_files(dataset.pk) == expected_files(dataset)


def dataset_root_bytes(dataset, sha256) -> bytes:
    from labeling import storage

    return storage.image_path(dataset_id=dataset.pk, sha256=sha256).read_bytes()


def test_exact_duplicates_are_skipped_and_near_duplicates_flagged(dataset, researcher):
    first = run_upload(dataset, researcher, [("a.png", png_bytes())])
    original = Slice.objects.get()
    # The same pixels again (twice), and the same picture one pixel off: a near-duplicate.
    near = Image.open(io.BytesIO(png_bytes()))
    near.putpixel((0, 0), (0, 255, 0))
    buffer = io.BytesIO()
    near.save(buffer, "PNG")
    job = run_upload(dataset, researcher, [("again.png", png_bytes()), ("near.png", buffer.getvalue())])
    assert first.accepted == 1
    assert outcomes(job) == [("again.png", "duplicate", "duplicate"), ("near.png", "accepted", "")]
    assert job.files.get(position=0).reason == REASON_DUPLICATE
    assert job.files.get(position=0).duplicate_of_id == original.pk
    assert job.files.get(position=1).near_duplicate_of_id == original.pk
    assert (job.duplicates, job.near_duplicates) == (1, 1)
    assert Item.objects.get(slices__original_name="near.png").near_duplicate is True
    assert Slice.objects.count() == 2
    assert stored_files(dataset.pk) == expected_files(dataset)


def test_an_episode_of_5_slices_has_one_coordinate_space(dataset, researcher):
    heights = [300, 120, 500, 80, 250]
    slices = [(f"ep1_{i:02d}.png", png_bytes(width=80, height=h, seed=i)) for i, h in enumerate(heights)]
    job = run_upload(dataset, researcher, slices, as_episode=True, episode_name="Episode 1")
    item = Item.objects.get()
    assert (item.kind, item.name, item.slice_count, item.width, item.height) == (
        "episode",
        "Episode 1",
        5,
        80,
        sum(heights),
    )
    stored = list(item.slices.order_by("position"))
    assert [s.original_name for s in stored] == [name for name, _ in slices]
    assert [s.offset_y for s in stored] == [0, 300, 420, 920, 1000]
    assert job.episode_item_id == item.pk
    # Episode coordinate y=419 is the last row of slice 1, y=420 the first row of slice 2.
    assert [s.position for s in stored if s.offset_y <= 419 < s.offset_y + s.height] == [1]
    assert [s.position for s in stored if s.offset_y <= 420 < s.offset_y + s.height] == [2]


def test_a_second_delivery_of_a_finished_job_changes_nothing(dataset, researcher):
    job = run_upload(dataset, researcher, [("a.png", png_bytes()), ("b.png", png_bytes(seed=4))])
    before = (list(Slice.objects.values_list("id", "sha256")), dataset_files(dataset.pk))
    import_job_run(import_job_id=job.pk)
    assert (list(Slice.objects.values_list("id", "sha256")), dataset_files(dataset.pk)) == before


def test_a_delivery_that_died_before_its_commit_is_redone_once(dataset, researcher, monkeypatch):
    job = upload_import_create(
        dataset=dataset, user=researcher, files=[upload("a.png", png_bytes()), upload("b.png", png_bytes(seed=4))]
    )
    real_slice_create = ingest._slice_create
    calls = []

    def dies_on_the_second_file(**kwargs):
        calls.append(kwargs["import_file"].position)
        if kwargs["import_file"].position == 1:
            raise SystemExit("worker lost")  # not an Exception: it ends the delivery, as a kill would
        return real_slice_create(**kwargs)

    monkeypatch.setattr(ingest, "_slice_create", dies_on_the_second_file)
    with pytest.raises(SystemExit):
        import_job_run(import_job_id=job.pk)
    assert Slice.objects.count() == 1 and ImportJob.objects.get().state == ImportState.RUNNING
    assert stored_files(dataset.pk) == expected_files(dataset)  # b's files went with its transaction

    monkeypatch.setattr(ingest, "_slice_create", real_slice_create)
    import_job_run(import_job_id=job.pk)  # the re-delivery
    job.refresh_from_db()
    assert job.state == ImportState.SUCCEEDED and (job.accepted, job.duplicates) == (2, 0)
    assert sorted(Slice.objects.values_list("original_name", flat=True)) == ["a.png", "b.png"]
    assert stored_files(dataset.pk) == expected_files(dataset)


def test_a_file_that_fails_unexpectedly_is_refused_and_the_rest_go_on(dataset, researcher, monkeypatch):
    real_write = ingest.write_deep_zoom

    def disk_full_once(**kwargs):
        if not hasattr(disk_full_once, "done"):
            disk_full_once.done = True
            raise OSError(28, "No space left on device")
        return real_write(**kwargs)

    monkeypatch.setattr(ingest, "write_deep_zoom", disk_full_once)
    job = run_upload(dataset, researcher, [("a.png", png_bytes()), ("b.png", png_bytes(seed=4))])
    assert outcomes(job) == [("a.png", "refused", "processing_failed"), ("b.png", "accepted", "")]
    assert job.files.get(position=0).reason == ingest.REASON_PROCESSING_FAILED
    assert stored_files(dataset.pk) == expected_files(dataset)
    assert FileOutcome.PENDING not in job.files.values_list("outcome", flat=True)
