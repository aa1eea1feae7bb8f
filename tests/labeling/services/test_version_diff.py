"""The diff of two versions now that snapshots freeze annotations: items added, removed, changed,
and per changed item the shapes and relations added, removed and changed, by id."""

import pytest

from labeling.selectors.versions import version_diff
from labeling.services.versions import version_create
from tests.actors import api_client_for
from tests.labeling.builders import box, make_item, make_task, save_document, tag

pytestmark = pytest.mark.django_db


def test_a_diff_lists_shape_changes_per_item(dataset, researcher, annotator):
    drawn = make_item(dataset, name="drawn")
    untouched = make_item(dataset, name="untouched")
    later = make_item(dataset, name="annotated later")
    task = make_task(
        drawn,
        assignee=annotator,
        status="submitted",
        shapes=[box("a1", "panel"), box("a2", "text", transcription="안녕"), box("a3", "character")],
        relations=[{"id": "r1", "type": "speaker", "from": "a2", "to": "a3"}],
    )
    make_task(untouched, assignee=annotator, status="accepted", shapes=[box("u1", "panel")])
    v1 = version_create(dataset=dataset, user=researcher, seed=1)

    # a1 moved, a2 re-transcribed, a3 deleted (and its relation), a4 and a flashback tag added; accepted.
    save_document(
        task,
        status="accepted",
        shapes=[
            box("a1", "panel", x=5),
            box("a2", "text", transcription="안녕!"),
            box("a4", "speech_bubble"),
            tag("t1", "flashback"),
        ],
    )
    make_task(later, assignee=annotator, shapes=[box("l1", "sfx"), box("l2", "sfx")])
    new_item = make_item(dataset, name="new")
    make_task(new_item, assignee=annotator, shapes=[box("n1", "panel")])
    v2 = version_create(dataset=dataset, user=researcher, seed=1)

    diff = version_diff(base=v1, other=v2)
    assert diff["added"] == [new_item.pk] and diff["removed"] == []
    assert diff["changed"] == sorted([drawn.pk, later.pk])  # `untouched` is not listed
    changes = {c["item"]: c for c in diff["item_changes"]}
    assert changes[drawn.pk] == {
        "item": drawn.pk,
        "name": "drawn",
        "image_changed": False,
        "annotation_status": {"from": "submitted", "to": "accepted"},
        "shapes": {"added": ["a4", "t1"], "removed": ["a3"], "changed": ["a1", "a2"]},
        "relations": {"added": [], "removed": ["r1"], "changed": []},
    }
    assert changes[later.pk]["shapes"] == {"added": ["l1", "l2"], "removed": [], "changed": []}
    assert changes[later.pk]["annotation_status"] == {"from": None, "to": "new"}
    # Totals: 2 + 2 added in changed items and 1 in the added item; a3 removed; a1, a2 changed.
    assert diff["shapes"] == {"added": 5, "removed": 1, "changed": 2}
    assert v2.stats["classes"] == {"flashback": 1, "panel": 3, "sfx": 2, "speech_bubble": 1, "text": 1}

    back = version_diff(base=v2, other=v1)
    assert back["removed"] == [new_item.pk]
    assert {c["item"]: c["shapes"] for c in back["item_changes"]}[drawn.pk] == {
        "added": ["a3"],
        "removed": ["a4", "t1"],
        "changed": ["a1", "a2"],
    }
    assert back["shapes"] == {"added": 1, "removed": 5, "changed": 2}


def test_an_image_change_and_the_api_answer_the_same_diff(dataset, researcher):
    item = make_item(dataset, name="strip", heights=(300, 200))
    v1 = version_create(dataset=dataset, user=researcher, seed=3)
    item.slices.filter(position=1).delete()
    v2 = version_create(dataset=dataset, user=researcher, seed=3)
    response = api_client_for(researcher).get(f"/api/v1/versions/{v2.pk}/diff/?against={v1.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body == version_diff(base=v1, other=v2)
    assert body["item_changes"] == [
        {
            "item": item.pk,
            "name": "strip",
            "image_changed": True,
            "annotation_status": {"from": None, "to": None},
            "shapes": {"added": [], "removed": [], "changed": []},
            "relations": {"added": [], "removed": [], "changed": []},
        }
    ]
