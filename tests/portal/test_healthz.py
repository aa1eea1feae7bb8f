import pytest

pytestmark = pytest.mark.stack


def test_it_is_healthy_with_every_process_up(live_stack):
    status, body = live_stack.health()
    assert status == 200
    assert body["status"] == "ok"
    assert set(body["components"]) == {"database", "broker", "disk", "worker", "beat", "gpu_backend"}
    assert all(component["ok"] for component in body["components"].values())


def test_it_answers_503_naming_the_worker_when_the_worker_stops(live_stack):
    live_stack.stop("worker")
    try:
        status, body = live_stack.health()
        assert status == 503
        assert body["status"] == "unhealthy"
        assert body["components"]["worker"]["ok"] is False
        assert body["components"]["database"]["ok"] is True
    finally:
        live_stack.ensure_running()
        live_stack.wait_healthy()
