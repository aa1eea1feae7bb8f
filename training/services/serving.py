"""Serving one image (docs/models.md "Serving"): the web process checks the request and records it; the
inference worker (`training.predict`, queue `inference`) loads the version with `detector_load` and
answers with `shapes_predict`, the same path a pre-label run takes. The web process never imports torch:
training.detector is imported inside the worker's function only (an import-linter contract and a test
hold that)."""

import asyncio
import threading
import time
from collections import OrderedDict
from datetime import timedelta
from pathlib import Path

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from labeling.ingest.images import canonical_image, check_header
from labeling.ingest.refusals import Refusal
from portal.errors import ApplicationError, Invalid
from training.models import FileRole, ModelVersion, PredictionRequest, PredictionState
from training.selectors.registry import version_folder

PREDICT_TASK = "training.predict"
NOT_AN_IMAGE = "Send one image: the request body, or a multipart form's `image` part."
NO_CONFIG = "Version {number} of {model} has no config file; it cannot be served."
FAILED_TO_LOAD = "The model did not load: {error}"
# A request's answer stays readable (GET /predictions/<id>/) this long; beat's prune then deletes the row.
KEEP_REQUESTS = timedelta(days=1)
PRUNE_BATCH = 5000


class TooLarge(ApplicationError):
    status = 413


def prediction_request_create(
    *, user, version: ModelVersion, data: bytes, threshold: float | None, classes: list[str] | None
) -> PredictionRequest:
    """Checks the image as an upload is checked (size, sniffed format, header dimensions: 413 with `limit`
    over a limit, 400 otherwise), keeps its bytes for the worker and sends the task after commit."""
    header = check_header(source=data, limits=settings.INGEST_LIMITS)
    if isinstance(header, Refusal):
        _refuse(header)
    if not version.files.filter(role=FileRole.CONFIG).exists():
        raise Invalid({"image": [NO_CONFIG.format(number=version.number, model=version.model.name)]})
    with transaction.atomic():
        request = PredictionRequest.objects.create(
            team_id=version.model.team_id,
            requested_by=user,
            model_version=version,
            threshold=threshold,
            classes=classes,
        )
        path = request_image_path(request_id=request.pk)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        transaction.on_commit(lambda: _send(request.pk))
    return request


def _refuse(refusal: Refusal):
    if refusal.exceeds_limit:
        raise TooLarge(refusal.reason, errors={"image": [refusal.reason]}, limit=refusal.limit)
    raise Invalid({"image": [refusal.reason]})


def _send(request_id: int) -> None:
    from portal.celery import app

    app.send_task(PREDICT_TASK, kwargs={"request_id": request_id}, queue=settings.PREDICT_QUEUE)


def request_image_path(*, request_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / "predict-requests" / f"{request_id}.bin"


async def prediction_await(*, request_id: int, seconds: float, interval: float = 0.005) -> bool:
    """Whether the worker finished the request within `seconds`. Waits in the event loop, not in a web
    thread, and hands the database connection back (to the pool) between reads, so a slow inference holds
    neither. Reads the row (one indexed read) every 5 ms at first, backing off to 50 ms: a doubling
    back-off added about half an inference to each answer (bench/serving.py)."""
    deadline = time.monotonic() + seconds
    while not await sync_to_async(_finished_then_release)(request_id):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval)
        interval = min(interval * 1.1, 0.05)
    return True


def _finished_then_release(request_id: int) -> bool:
    try:
        finished = (PredictionState.SUCCEEDED, PredictionState.FAILED)
        return PredictionRequest.objects.filter(pk=request_id, state__in=finished).exists()
    finally:
        connection_release()


def connection_release() -> None:
    """Hand this thread's database connection back to the pool (autocommit: nothing is left open). Without
    a pool there is nothing to hand back, and closing would only cost a reconnect at the next read."""
    if connection.settings_dict.get("OPTIONS", {}).get("pool"):
        connection.close()


def prediction_requests_prune(*, now=None) -> int:
    """Beat's round (`training.prediction_requests_prune`): delete requests older than KEEP_REQUESTS, and
    an image a lost worker left; a batch at a time, the next round takes the rest."""
    cutoff = (now or timezone.now()) - KEEP_REQUESTS
    ids = list(PredictionRequest.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:PRUNE_BATCH])
    for request_id in ids:
        request_image_path(request_id=request_id).unlink(missing_ok=True)
    PredictionRequest.objects.filter(pk__in=ids).delete()
    return len(ids)


# ---------------------------------------------------------------- the inference worker


def prediction_run(*, request_id: int) -> None:
    """Claimed by compare-and-set; a request still `running` is claimed again, since its message comes back
    only when the worker that ran it was lost (acks_late). Predicting twice is harmless (the same shapes),
    and only the first finish is written."""
    claimed = PredictionRequest.objects.filter(
        pk=request_id, state__in=(PredictionState.QUEUED, PredictionState.RUNNING)
    ).update(state=PredictionState.RUNNING)
    if claimed == 0:
        return
    request = PredictionRequest.objects.select_related("model_version").get(pk=request_id)
    path = request_image_path(request_id=request_id)
    try:
        shapes, milliseconds = _predict(request, path)
    except Exception as error:  # a bad image or checkpoint: the request fails with the reason, never hangs
        _finish(request, state=PredictionState.FAILED, error=str(error) or type(error).__name__)
    else:
        _finish(request, state=PredictionState.SUCCEEDED, shapes=shapes, inference_ms=milliseconds)
    finally:
        path.unlink(missing_ok=True)


class _Refused(Exception):
    pass


def _predict(request: PredictionRequest, path: Path) -> tuple[list[dict], float]:
    from training.detector.infer import DEFAULT_THRESHOLD, shapes_predict

    image = canonical_image(source=path, limits=settings.INGEST_LIMITS)
    if isinstance(image, Refusal):
        raise _Refused(image.reason)
    detector = _loaded(request.model_version)
    started = time.perf_counter()
    shapes = shapes_predict(
        detector,
        image,
        threshold=DEFAULT_THRESHOLD if request.threshold is None else request.threshold,
        classes=request.classes,
    )
    return shapes, round((time.perf_counter() - started) * 1000, 2)


def _finish(request: PredictionRequest, *, state: str, **fields) -> None:
    finished = PredictionRequest.objects.filter(pk=request.pk, state=PredictionState.RUNNING)
    finished.update(state=state, finished_at=timezone.now(), **fields)


_cache: OrderedDict = OrderedDict()
_cache_lock = threading.Lock()


def _loaded(version: ModelVersion):
    """The version's detector, loaded once per worker process and kept (least recently used goes first).
    Keyed by version id: versions are immutable, so a cached one is never stale; an alias move names
    another version, loaded on its first request."""
    with _cache_lock:
        if version.pk in _cache:
            _cache.move_to_end(version.pk)
            return _cache[version.pk]
        detector = _load(version)
        _cache[version.pk] = detector
        while len(_cache) > settings.PREDICT_MODEL_CACHE_SIZE:
            _cache.popitem(last=False)
        return detector


def _load(version: ModelVersion):
    from training.detector.infer import detector_load

    files = {f.role: version_folder(version=version) / f.stored_name for f in version.files.all()}
    try:
        return detector_load(
            checkpoint=files[FileRole.CHECKPOINT], config=files[FileRole.CONFIG], device=settings.PREDICT_DEVICE
        )
    except Exception as error:  # the loader's own words, as a pre-label run reports them
        words = str(error).strip()
        raise _Refused(FAILED_TO_LOAD.format(error=words.splitlines()[0] if words else type(error).__name__)) from error
