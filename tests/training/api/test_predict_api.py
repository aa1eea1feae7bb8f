"""POST /api/v1/models/{name}@{alias}/predict/ (docs/models.md "Serving"): one image, answered by the real
inference worker of the stack with the same shapes `shapes_predict` gives for that image; an alias move
applies to the next request; other teams, unknown aliases and versions 404; over-limit images 413; a wait
of 0 answers 202 and the request's resource holds the shapes later."""

import dataclasses
import io
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import torch
from django.db import connections

from tests.actors import api_client_for
from tests.stack import wait_for
from tests.training.conftest import finished_job, write_output
from training.detector.infer import detector_load, shapes_predict
from training.detector.model import CentreDetector, DetectorConfig
from training.detector.synthetic import strip
from training.services.registry import alias_move, model_create, version_register

CLASSES = ("panel", "speech_bubble", "text")


def _detector_bytes(bias: float) -> tuple[bytes, bytes]:
    """An untrained detector that fires often (as tests/training/detector/test_infer.py builds it); the
    heatmap bias tells two versions apart."""
    torch.manual_seed(0)
    config = DetectorConfig(classes=CLASSES, width=8, scale=0.25, tile_height=512, tile_overlap=256)
    model = CentreDetector(config)
    torch.nn.init.constant_(model.heatmap.bias, bias)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue(), json.dumps(config.to_dict()).encode()


def _register(user, team, model, *, bias: float):
    from labeling.selectors.versions import version_ref
    from labeling.services.datasets import dataset_create
    from labeling.services.versions import version_create
    from tests.labeling.builders import make_item

    dataset = dataset_create(user=user, team_id=team.pk, name=f"Strips {bias}")
    make_item(dataset, name="strip-1")
    dataset_version = version_create(dataset=dataset, user=user, seed=7)
    job = finished_job(user, team, inputs={"data": version_ref(version=dataset_version)})
    checkpoint, config = _detector_bytes(bias)
    write_output(job, "model.pt", checkpoint)
    write_output(job, "config.json", config)
    return version_register(
        user=user, model=model, job=job, checkpoint="model.pt", format="torch_state_dict", config_file="config.json"
    )


class _ClientInThread:
    """An APIClient whose requests run in a thread of their own. The predict view is async, and the test
    client runs it with async_to_sync, which refuses a thread with a running event loop: Playwright's sync
    API, started by the e2e tests that share this process, leaves one in the main thread."""

    def __init__(self, user):
        self._client = api_client_for(user)
        self._thread = ThreadPoolExecutor(max_workers=1)

    def get(self, *args, **kwargs):
        return self._in_thread(self._client.get, *args, **kwargs)

    def post(self, *args, **kwargs):
        return self._in_thread(self._client.post, *args, **kwargs)

    def _in_thread(self, method, *args, **kwargs):
        def call():
            try:
                return method(*args, **kwargs)
            finally:
                connections.close_all()  # the flush after the test waits for no idle connection of ours

        return self._thread.submit(call).result()


def _png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _expected(version, image, **options):
    from training.selectors.registry import version_folder

    folder = version_folder(version=version)
    detector = detector_load(checkpoint=folder / "checkpoint.pt", config=folder / "config.json")
    return shapes_predict(detector, image, **options)


@pytest.fixture
def served(live_stack, researcher, team_a):
    model = model_create(user=researcher, team_id=team_a.pk, name="strip-detector")
    first = _register(researcher, team_a, model, bias=2.0)
    second = _register(researcher, team_a, model, bias=-1.0)
    alias_move(user=researcher, model=model, alias="staging", number=first.number)
    return model, first, second


def test_it_answers_the_shapes_shapes_predict_gives_and_follows_an_alias_move(served, researcher, settings):
    model, first, second = served
    settings.PREDICT_WAIT_SECONDS = 60  # the stack's worker imports torch on its first request
    image, _ = strip(3, width=480, height=1200)
    client = _ClientInThread(researcher)
    url = "/api/v1/models/strip-detector@staging/predict/?threshold=0.1"
    answer = client.post(url, _png(image), content_type="image/png")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["model"], body["version"], body["state"]) == ("strip-detector", first.number, "succeeded")
    assert body["shapes"] and body["shapes"] == _expected(first, image, threshold=0.1)
    assert body["inference_ms"] > 0

    alias_move(user=researcher, model=model, alias="staging", number=second.number)
    moved = client.post(url, {"image": io.BytesIO(_png(image)), "classes": "text"}, format="multipart")
    assert moved.status_code == 200, moved.content
    assert moved.json()["version"] == second.number
    assert moved.json()["shapes"] == _expected(second, image, threshold=0.1, classes=["text"])

    by_number = client.post(
        f"/api/v1/models/strip-detector/versions/{first.number}/predict/", _png(image), content_type="image/png"
    )
    assert by_number.status_code == 200 and by_number.json()["shapes"] == _expected(first, image, threshold=0.3)


def test_with_no_wait_it_answers_202_and_the_resource_holds_the_shapes_later(served, researcher, settings):
    _model, first, _second = served
    settings.PREDICT_WAIT_SECONDS = 0
    image, _ = strip(4, width=480, height=800)
    client = _ClientInThread(researcher)
    answer = client.post("/api/v1/models/strip-detector@staging/predict/", _png(image), content_type="image/png")
    assert answer.status_code == 202, answer.content
    location = answer["Location"]
    assert location == f"/api/v1/predictions/requests/{answer.json()['id']}/"
    done = wait_for(lambda: client.get(location).json()["state"] == "succeeded", timeout=90, what="the prediction")
    assert done
    assert client.get(location).json()["shapes"] == _expected(first, image, threshold=0.3)


def test_it_refuses_other_teams_unknown_names_and_bad_images(served, outsider, researcher, settings):
    settings.PREDICT_WAIT_SECONDS = 0
    settings.INGEST_LIMITS = dataclasses.replace(settings.INGEST_LIMITS, max_image_pixels=480 * 1000)
    image = _png(strip(5, width=480, height=1200)[0])
    outsiders = _ClientInThread(outsider)
    mine = _ClientInThread(researcher)
    for url in ("/api/v1/models/strip-detector@staging/predict/", "/api/v1/models/strip-detector/versions/1/predict/"):
        assert outsiders.post(url, image, content_type="image/png").status_code == 404
    assert mine.post("/api/v1/models/strip-detector@nope/predict/", image, content_type="image/png").status_code == 404
    assert (
        mine.post("/api/v1/models/strip-detector/versions/99/predict/", b"x", content_type="image/png").status_code
        == 404
    )
    assert mine.post("/api/v1/models/other@staging/predict/", image, content_type="image/png").status_code == 404

    too_big = mine.post("/api/v1/models/strip-detector@staging/predict/", image, content_type="image/png")
    assert too_big.status_code == 413 and too_big.json()["limit"] == 480 * 1000, too_big.content
    not_image = mine.post("/api/v1/models/strip-detector@staging/predict/", b"hello", content_type="text/plain")
    assert not_image.status_code == 400 and "image" in not_image.json()["errors"], not_image.content

    small = _png(strip(6, width=480, height=800)[0])
    accepted = mine.post("/api/v1/models/strip-detector@staging/predict/", small, content_type="image/png")
    assert accepted.status_code == 202
    assert outsiders.get(accepted["Location"]).status_code == 404


def _session_maps(session_id: int) -> str:
    """The memory maps of every process in a session (the stack starts each of its processes in its own)."""
    maps = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == session_id:  # after the name: state, ppid, pgrp, session
                maps.append((stat.parent / "maps").read_text())
        except (OSError, IndexError, ValueError):
            continue
    return "\n".join(maps)


def test_the_web_process_never_loads_torch(served, live_stack, researcher):
    """Over HTTP to the stack's own uvicorn: the request is answered by the worker, and no process of the
    web's session has torch's library mapped (an imported torch maps libtorch)."""
    from portal.accounts.services import api_token_create

    _token, secret = api_token_create(user=researcher, name="predict", expires_in_days=1)
    image, _ = strip(7, width=480, height=800)
    answer = httpx.post(
        f"{live_stack.url}/api/v1/models/strip-detector@staging/predict/",
        content=_png(image),
        headers={"Authorization": f"Token {secret}", "Content-Type": "image/png"},
        timeout=120,
    )
    assert answer.status_code in (200, 202), answer.text
    maps = _session_maps(live_stack.processes["web"].pid)
    assert "python" in maps, "the web's maps were read"
    assert "libtorch" not in maps
    assert "libtorch" in _session_maps(live_stack.processes["worker"].pid)  # the check can tell
