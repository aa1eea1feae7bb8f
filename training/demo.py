"""Demo data of the training side for `make run` (docs/models.md "Demo"): a dataset of generated
webtoon-like strips (training/detector/synthetic.py) ingested and annotated through labeling's own
services, a frozen version, and a job that trains the detector on it within a small CPU budget. The
job is staged and runs after start-up, in the background, like any job; when it succeeds, beat's staging
sweep registers its checkpoint as a version of the model "strip-detector", with its lineage. Idempotent."""

import io
import json
import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from labeling.models import Dataset
from labeling.schema import default_webtoon_schema
from labeling.services.annotation_imports import annotation_import
from labeling.services.datasets import dataset_create
from labeling.services.imports import upload_import_create
from labeling.services.ingest import import_job_run
from labeling.services.versions import version_create
from portal.teams.models import Team
from training.detector.synthetic import CLASSES, strip
from training.services.pipelines import pipeline_create
from training.services.staging import staged_job_submit

log = logging.getLogger(__name__)

DEMO_DATASET = "Demo detection strips"
DEMO_MODEL = "strip-detector"
DEMO_PIPELINE = "detector-loop"
DEMO_TASK = "training.demo_build"
DEMO_STRIPS = 24
# A bounded CPU budget: the job stops training after this long (then evaluates and writes its files).
DEMO_TRAIN_SECONDS = 120
DEMO_COMMAND = f"python examples/train_detector.py --max-seconds {DEMO_TRAIN_SECONDS} --steps 400 --threads 1"


def demo_training_seed(**kwargs) -> None:
    """Asks the worker to build the demo after start-up: drawing and ingesting the strips takes longer
    than `make run` may take to print its URL."""
    if not settings.DEMO_TRAINING or not _demo_owner() or Dataset.objects.filter(name=DEMO_DATASET).exists():
        return
    from portal.celery import app

    transaction.on_commit(lambda: app.send_task(DEMO_TASK))


def demo_training_build() -> None:
    """The demo's dataset, version and staged training job (the task `training.demo_build`). Idempotent."""
    team, researcher = _demo_owner()
    if Dataset.objects.filter(team=team, name=DEMO_DATASET).exists():
        return
    version = detection_version_create(
        user=researcher, team_id=team.pk, name=DEMO_DATASET, seeds=range(DEMO_STRIPS), width=480, height=2400
    )
    try:
        staged_job_submit(
            user=researcher,
            dataset_version_id=version.pk,
            register_as=DEMO_MODEL,
            job={
                "name": "train strip-detector (demo)",
                "command": DEMO_COMMAND,
                "gpus": 1,
                "time_limit": timedelta(minutes=15),
            },
        )
    except ValidationError as refused:  # no GPU known yet, say: the demo's data stays, `make run` goes on
        log.warning("the demo's training job was not submitted: %s", "; ".join(refused.messages))
    _demo_pipeline(team=team, researcher=researcher, dataset_id=version.dataset_id)


def _demo_pipeline(*, team, researcher, dataset_id: int) -> None:
    """examples/pipelines/detector_loop.yaml on the demo's dataset (not run: the pipeline page's Start run)."""
    text = (settings.BASE_DIR / "examples" / "pipelines" / "detector_loop.yaml").read_text(encoding="utf-8")
    text = text.replace("dataset: {type: int,", f"dataset: {{type: int, default: {dataset_id},", 1)
    try:
        pipeline_create(user=researcher, team_id=team.pk, name=DEMO_PIPELINE, text=text)
    except ValidationError as refused:  # the team's limits refuse it: the demo goes on without it
        log.warning("the demo's pipeline was not created: %s", "; ".join(refused.messages))


def _demo_owner():
    team = Team.objects.filter(name="Vision").first()
    researcher = get_user_model().objects.filter(username="researcher").first()
    return (team, researcher) if team and researcher else None


def detection_version_create(*, user, team_id: int, name: str, seeds, width: int, height: int):
    """A dataset of generated strips, their boxes imported as COCO annotations, frozen (¾ train, ¼ val)."""
    dataset = dataset_create(
        user=user,
        team_id=team_id,
        name=name,
        description="Generated webtoon-like strips (panels, speech bubbles, text), annotated: the demo detector's data.",
        label_schema=_detection_schema(),
    )
    images, annotations = [], []
    files = []
    for image_id, seed in enumerate(seeds, start=1):
        picture, boxes = strip(seed, width=width, height=height)
        file_name = f"strip-{seed:03d}.png"
        buffer = io.BytesIO()
        picture.save(buffer, "PNG", compress_level=1)
        files.append(SimpleUploadedFile(file_name, buffer.getvalue(), content_type="image/png"))
        images.append({"id": image_id, "file_name": file_name, "width": width, "height": height})
        annotations += [
            {
                "id": len(annotations) + n + 1,
                "image_id": image_id,
                "category_id": CLASSES.index(cls) + 1,
                "bbox": [x0, y0, x1 - x0, y1 - y0],
                "area": (x1 - x0) * (y1 - y0),
                "iscrowd": 0,
                "segmentation": [],
            }
            for n, (cls, x0, y0, x1, y1) in enumerate(boxes)
        ]
    # One transaction: the import's own task is sent at commit, after this run finished it, so a worker
    # that receives it finds the work done instead of racing this run for the same files.
    with transaction.atomic():
        import_job_run(import_job_id=upload_import_create(dataset=dataset, user=user, files=files).pk)
    coco = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": n + 1, "name": c} for n, c in enumerate(CLASSES)],
    }
    with transaction.atomic():
        annotation_import(
            dataset=dataset,
            user=user,
            format="coco",
            upload=SimpleUploadedFile("instances.json", json.dumps(coco).encode(), content_type="application/json"),
        )
    return version_create(
        dataset=dataset, user=user, seed=1, ratios={"train": 0.75, "val": 0.25, "test": 0.0}, note="demo"
    )


def _detection_schema() -> dict:
    schema = default_webtoon_schema()
    schema["classes"] = [c for c in schema["classes"] if c["name"] in CLASSES]
    schema["relations"] = []
    return schema
