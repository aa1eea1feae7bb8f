"""A predict request waiting for the inference worker holds no database connection: with a pool of one
connection, another request answers while a prediction waits (PostgreSQL's pool; docs/models.md
"Serving"). Before, the view polled the row in its thread and kept the pool's only connection for the
whole wait, so the other request got the pool's 503."""

import contextlib
import threading
import time

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

from portal.accounts.services import api_token_create
from tests.training.api.test_predict_api import _png, _register
from training.detector.synthetic import strip
from training.services.registry import model_create

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "connection.vendor != 'postgresql'", reason="embedded mode opens SQLite files: there is no pool to hold"
    ),
]


@contextlib.contextmanager
def one_connection_pool():
    """This process's pool swapped for one of a single connection (a request that cannot get it within
    0.5 s answers 503); this thread's own connection handed back first."""
    wrapper = connections[DEFAULT_DB_ALIAS]
    connection.close()
    pools, options = type(wrapper)._connection_pools, wrapper.settings_dict["OPTIONS"]
    real_options, real_pool = options["pool"], pools.pop(DEFAULT_DB_ALIAS, None)
    options["pool"] = {"min_size": 0, "max_size": 1, "timeout": 0.5}
    yield
    connection.close()
    tiny = pools.pop(DEFAULT_DB_ALIAS, None)
    if tiny is not None:
        tiny.close()
    options["pool"] = real_options
    if real_pool is not None:
        pools[DEFAULT_DB_ALIAS] = real_pool


def test_another_request_answers_while_a_prediction_waits(researcher, team_a, settings, monkeypatch):
    from django.test import Client

    model = model_create(user=researcher, team_id=team_a.pk, name="strip-detector")
    version = _register(researcher, team_a, model, bias=2.0)
    _, token = api_token_create(user=researcher, name="wait", expires_in_days=1)
    monkeypatch.setattr("training.services.serving._send", lambda request_id: None)  # no worker answers
    settings.PREDICT_WAIT_SECONDS = 6.0
    image, _ = strip(3, width=480, height=800)
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    answers = {}

    def predict():
        url = f"/api/v1/models/strip-detector/versions/{version.number}/predict/"
        answers["predict"] = Client().post(url, _png(image), content_type="image/png", **auth)
        connection.close()

    with one_connection_pool():
        Client().get("/api/v1/me/", **auth)  # warm: the first request of a process imports a lot
        connection.close()
        waiting = threading.Thread(target=predict)
        waiting.start()
        time.sleep(1.0)  # the prediction is recorded and waiting now
        answers["me"] = Client().get("/api/v1/me/", **auth)
        still_waiting = "predict" not in answers
        connection.close()
        waiting.join()

    assert answers["me"].status_code == 200, answers["me"].content  # the pool's only connection was free
    assert still_waiting
    assert answers["predict"].status_code == 202  # nobody answered within the wait
