"""GET /api/v1/datasets/{id}/items/ filters: status, class, tag, annotator, near-duplicate, kind.

Each filter is checked against an oracle computed from how the rows were made, so a filter that is
ignored (every item comes back) or leaks another dataset's rows fails."""

import pytest
from django.db import connection

from labeling.filters import CLASS_AND_TAG, NOT_A_STATUS, NOT_A_TAG, NOT_A_USER_ID
from labeling.services.datasets import dataset_create
from tests.actors import api_client_for
from tests.factories import MembershipFactory, UserFactory
from tests.labeling.builders import box, make_item, make_task, tag

pytestmark = pytest.mark.django_db

STATUSES = ["new", "in_progress", "in_review", "done"]


@pytest.fixture
def world(dataset, team_a, researcher, annotator):
    """12 items: statuses cycle; panel on even items, sfx on multiples of 3, the flashback tag on 1 and 5;
    `annotator` holds tasks of items 0-5, `second` of 4-9; near-duplicates 2 and 7; item 11 an episode.
    Another dataset of the team has a panel item annotated by `annotator`: it must never show up."""
    second = UserFactory(username="second")
    MembershipFactory(team=team_a, user=second, is_annotator=True)
    items = []
    for n in range(12):
        item = make_item(
            dataset,
            name=f"item-{n}",
            status=STATUSES[n % 4],
            near_duplicate=n in (2, 7),
            heights=(100, 200) if n == 11 else (400,),
            kind="episode" if n == 11 else "image",
        )
        shapes = ([box(f"p{n}", "panel")] if n % 2 == 0 else []) + ([box(f"s{n}", "sfx")] if n % 3 == 0 else [])
        shapes += [tag(f"t{n}", "flashback")] if n in (1, 5) else []
        if n <= 5:
            make_task(item, assignee=annotator, shapes=shapes)
        if 4 <= n <= 9:
            make_task(item, assignee=second, shapes=shapes if n > 5 else None, overlap_index=1)
        items.append(item)
    other = dataset_create(user=researcher, team_id=team_a.pk, name="Other")
    make_task(make_item(other, name="elsewhere", status="done"), assignee=annotator, shapes=[box("x", "panel")])
    return {"items": items, "second": second}


def ids(world, numbers) -> list[int]:
    """Newest first, as the API pages."""
    return sorted((world["items"][n].pk for n in numbers), reverse=True)


def listed(user, dataset, query: str) -> list[int]:
    response = api_client_for(user).get(f"/api/v1/datasets/{dataset.pk}/items/?page_size=200&{query}")
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    "query, numbers",
    [
        ("", range(12)),
        ("status=done", [3, 7, 11]),
        ("status=in_review", [2, 6, 10]),
        ("class=panel", [0, 2, 4, 6, 8]),
        ("class=sfx", [0, 3, 6, 9]),
        ("class=flashback", [1, 5]),
        ("tag=flashback", [1, 5]),
        ("class=character", []),
        ("near_duplicate=true", [2, 7]),
        ("near_duplicate=false", [0, 1, 3, 4, 5, 6, 8, 9, 10, 11]),
        ("kind=episode", [11]),
        ("status=done&class=sfx", [3]),
        ("class=panel&near_duplicate=true", [2]),
    ],
)
def test_each_filter_returns_exactly_its_items(world, dataset, researcher, query, numbers):
    assert listed(researcher, dataset, query) == ids(world, numbers)


def test_the_annotator_filter_finds_items_through_their_tasks(world, dataset, researcher, annotator, outsider):
    second = world["second"]
    assert listed(researcher, dataset, f"annotator={annotator.pk}") == ids(world, range(6))
    assert listed(researcher, dataset, f"annotator={second.pk}") == ids(world, range(4, 10))
    assert listed(researcher, dataset, f"annotator={second.pk}&class=panel&status=done") == []
    assert listed(researcher, dataset, f"annotator={second.pk}&class=panel") == ids(world, [4, 6, 8])
    assert listed(researcher, dataset, f"annotator={outsider.pk}") == []


@pytest.mark.parametrize("query", ["class=panel", "annotator", "status=in_progress", "near_duplicate=false", ""])
def test_filtered_pages_follow_the_cursor_both_ways(world, dataset, researcher, annotator, query):
    query = f"annotator={annotator.pk}" if query == "annotator" else query
    expected = listed(researcher, dataset, query)
    client = api_client_for(researcher)
    url, seen, pages = f"/api/v1/datasets/{dataset.pk}/items/?page_size=2&{query}", [], []
    while url:
        body = client.get(url).json()
        pages.append((url, [row["id"] for row in body["results"]]))
        seen += pages[-1][1]
        url = body["next"]
    assert seen == expected and len(pages) == max(1, -(-len(expected) // 2))
    if len(pages) > 2:  # the previous link of the third page gives the second page again
        previous = client.get(pages[2][0]).json()["previous"]
        assert [row["id"] for row in client.get(previous).json()["results"]] == pages[1][1]


def test_bad_filter_values_are_400_naming_the_parameter(world, dataset, researcher):
    client = api_client_for(researcher)
    url = f"/api/v1/datasets/{dataset.pk}/items/"
    cases = [
        ("status=finished", {"status": [NOT_A_STATUS]}),
        ("tag=panel", {"tag": [NOT_A_TAG]}),
        ("annotator=bob", {"annotator": [NOT_A_USER_ID]}),
        ("class=panel&tag=flashback", {"tag": [CLASS_AND_TAG]}),
    ]
    for query, errors in cases:
        response = client.get(f"{url}?{query}")
        assert response.status_code == 400 and response.json()["errors"] == errors, query


def test_other_teams_get_404_whatever_the_filter(world, dataset, outsider, annotator):
    response = api_client_for(outsider).get(f"/api/v1/datasets/{dataset.pk}/items/?annotator={annotator.pk}")
    assert response.status_code == 404


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's plan; PostgreSQL's is checked by bench/items.py")
def test_class_and_annotator_filters_read_indexes_not_every_item(world, dataset, annotator):
    from labeling.selectors.datasets import items_of_dataset

    def plan(**filters) -> str:
        sql, params = items_of_dataset(dataset=dataset, after_id=10**9, **filters)[:51].query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            return "\n".join(str(row[-1]) for row in cursor.fetchall())

    by_class = plan(class_name="panel")
    # Driven by ItemClass (dataset, class_name, item) from the cursor down; items found by primary key; no sort.
    assert "USING COVERING INDEX itemclass_dataset_class_item (dataset_id=? AND class_name=? AND item_id<?)" in by_class
    assert "TEMP B-TREE" not in by_class
    by_annotator = plan(annotator_id=annotator.pk)
    assert "LIST SUBQUERY" in by_annotator and "TEMP B-TREE" not in by_annotator
