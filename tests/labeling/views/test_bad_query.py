"""Ids in a page's query that no database column holds are ignored like any other bad id, never a 500
(portal/inputs.py)."""

import pytest

TOO_BIG = "9" * 30


@pytest.mark.parametrize(
    "query",
    [f"?before={TOO_BIG}", f"?annotator={TOO_BIG}", f"?annotator=-{TOO_BIG}"],
)
def test_the_dataset_page_survives_ids_too_big_for_the_database(client, researcher, dataset, query):
    client.force_login(researcher)
    assert client.get(f"/labeling/datasets/{dataset.pk}/{query}").status_code == 200


def test_the_compare_form_survives_ids_too_big_for_the_database(client, researcher, dataset):
    client.force_login(researcher)
    response = client.get(f"/labeling/datasets/{dataset.pk}/versions/compare/?base={TOO_BIG}&other=1")
    assert response.status_code == 302


def test_an_items_history_survives_ids_too_big_for_the_database(client, researcher, dataset):
    from tests.labeling.builders import make_item

    item = make_item(dataset, name="strip")
    client.force_login(researcher)
    response = client.get(f"/labeling/items/{item.pk}/history/?task={TOO_BIG}&from=1&to=2")
    assert response.status_code == 200


def test_the_api_item_filter_refuses_an_annotator_id_too_big(researcher, dataset):
    from tests.actors import api_client_for

    response = api_client_for(researcher).get(f"/api/v1/datasets/{dataset.pk}/items/", {"annotator": TOO_BIG})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["annotator"]
