"""GET /api/v1/items/{id}/predictions/: the item's predictions for the workspace's suggestions; the
newest whole by default, another on request; another team's item, or another item's prediction, 404."""

import pytest

from labeling.api.predictions import NO_SUCH_PREDICTION, PREDICTION_NOT_A_NUMBER
from tests.actors import api_client_for
from tests.factories import PredictionFactory
from tests.labeling.builders import box, make_item

pytestmark = pytest.mark.django_db


def scored(shape_id, score):
    return {**box(shape_id, "panel"), "score": score}


def test_it_gives_the_newest_prediction_whole_and_lists_the_others(dataset, annotator):
    item = make_item(dataset, name="one")
    older = PredictionFactory(item=item, run_ref="training:prelabel-run:1", model_ref="training:model-version:1")
    newer = PredictionFactory(
        item=item, run_ref="training:prelabel-run:2", model_ref="training:model-version:2", shapes=[scored("p1", 0.8)]
    )

    body = api_client_for(annotator).get(f"/api/v1/items/{item.pk}/predictions/").json()

    assert [p["id"] for p in body["predictions"]] == [newer.pk, older.pk]
    assert body["predictions"][0]["shape_count"] == 1 and "shapes" not in body["predictions"][0]
    assert body["prediction"]["id"] == newer.pk
    assert body["prediction"]["model_ref"] == "training:model-version:2"
    assert body["prediction"]["shapes"] == [scored("p1", 0.8)]


def test_a_chosen_prediction_and_an_item_without_any(dataset, annotator):
    item, bare = make_item(dataset, name="one"), make_item(dataset, name="bare")
    older = PredictionFactory(item=item, shapes=[scored("p1", 0.5)])
    PredictionFactory(item=item)
    client = api_client_for(annotator)

    assert (
        client.get(f"/api/v1/items/{item.pk}/predictions/?prediction={older.pk}").json()["prediction"]["id"] == older.pk
    )
    assert client.get(f"/api/v1/items/{bare.pk}/predictions/").json() == {"predictions": [], "prediction": None}


def test_another_items_prediction_or_a_bad_id_is_refused(dataset, annotator):
    item, other = make_item(dataset, name="one"), make_item(dataset, name="two")
    theirs = PredictionFactory(item=other)
    client = api_client_for(annotator)

    missing = client.get(f"/api/v1/items/{item.pk}/predictions/?prediction={theirs.pk}")
    assert missing.status_code == 404 and missing.json()["detail"] == NO_SUCH_PREDICTION
    for bad in ("newest", "²", "9" * 19):
        answer = client.get(f"/api/v1/items/{item.pk}/predictions/", {"prediction": bad})
        assert answer.status_code == 400 and answer.json()["errors"] == {"prediction": [PREDICTION_NOT_A_NUMBER]}


def test_another_teams_item_is_404(dataset, outsider):
    item = make_item(dataset, name="one")
    PredictionFactory(item=item)

    assert api_client_for(outsider).get(f"/api/v1/items/{item.pk}/predictions/").status_code == 404
