"""A lead makes tasks for a scope of items, hands them out (by hand, round-robin, k per item),
reassigns, routes review, and reads progress: labeling/services/task_assignment.py."""

from collections import Counter

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from labeling.access import REVIEW_ROUTED_ELSEWHERE, check_may_review
from labeling.models import Task
from labeling.selectors.annotation_tasks import task_progress, tasks_for_user
from labeling.services import task_assignment as service
from labeling.services.versions import version_create
from tests.factories import MembershipFactory, UserFactory
from tests.labeling.builders import make_item, make_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def annotators(team_a, annotator):
    """Three annotators of team A: the shared actor and two more."""
    more = [
        MembershipFactory(team=team_a, user=UserFactory(username=name), is_annotator=True).user
        for name in ("ann_b", "ann_c")
    ]
    return [annotator, *more]


def items(dataset, n: int, **kwargs):
    return [make_item(dataset, name=f"p{i:03d}", **kwargs) for i in range(n)]


def holders(dataset) -> dict[int, list[int]]:
    """Oracle: each item's assignees, read from the rows."""
    found: dict[int, list[int]] = {}
    for item_id, assignee_id in Task.objects.filter(dataset=dataset).values_list("item_id", "assignee_id"):
        found.setdefault(item_id, []).append(assignee_id)
    return found


def test_round_robin_over_two_annotators_alternates_in_item_order(dataset, researcher, annotators):
    made = items(dataset, 5)
    first, second = annotators[:2]
    counts = service.tasks_plan(dataset=dataset, user=researcher, scope="untasked", annotator_ids=[first.pk, second.pk])
    assert counts == {"items": 5, "created": 5, "existing": 0, "assigned": 5, "unassigned": 0}
    order = [Task.objects.get(item=item).assignee_id for item in made]
    assert order == [first.pk, second.pk, first.pk, second.pk, first.pk]
    assert all(t.assigned_at is not None for t in Task.objects.all())


def test_k_annotators_per_item_are_always_different_people_and_the_load_is_even(dataset, researcher, annotators):
    items(dataset, 7)
    counts = service.tasks_plan(dataset=dataset, user=researcher, overlap=2, annotator_ids=[a.pk for a in annotators])
    assert counts["created"] == 14 and counts["assigned"] == 14
    for people in holders(dataset).values():
        assert len(people) == 2 and len(set(people)) == 2
    load = Counter(Task.objects.values_list("assignee_id", flat=True))
    assert max(load.values()) - min(load.values()) <= 1


def test_people_who_already_hold_an_item_are_skipped(dataset, researcher, annotators):
    item = make_item(dataset, name="held")
    make_task(item, assignee=annotators[0], overlap_index=0)
    service.tasks_plan(
        dataset=dataset, user=researcher, scope="all", overlap=2, annotator_ids=[annotators[0].pk, annotators[1].pk]
    )
    assert sorted(holders(dataset)[item.pk]) == sorted([annotators[0].pk, annotators[1].pk])


def test_too_few_annotators_or_a_stranger_writes_nothing(dataset, researcher, annotators, outsider):
    items(dataset, 3)
    with pytest.raises(ValidationError) as too_few:
        service.tasks_plan(dataset=dataset, user=researcher, overlap=3, annotator_ids=[annotators[0].pk])
    assert too_few.value.message_dict == {"annotators": [service.TOO_FEW_ANNOTATORS.format(overlap=3, chosen=1)]}
    with pytest.raises(ValidationError) as stranger:
        service.tasks_plan(dataset=dataset, user=researcher, annotator_ids=[annotators[0].pk, outsider.pk])
    assert stranger.value.message_dict == {"annotators": [service.NOT_ANNOTATORS.format(ids=outsider.pk)]}
    assert Task.objects.count() == 0


def test_when_nobody_is_free_for_a_task_nothing_is_written(dataset, researcher, annotators):
    item = make_item(dataset, name="held")
    make_task(item, assignee=annotators[0], overlap_index=0)
    with pytest.raises(ValidationError) as refused:
        service.tasks_plan(dataset=dataset, user=researcher, overlap=2, annotator_ids=[annotators[0].pk])
    assert "annotators" in refused.value.message_dict
    assert Task.objects.count() == 1  # the second task was made and then rolled back with the refusal


def test_scopes_untasked_filter_selection_and_version(dataset, researcher):
    new, done, third = (
        make_item(dataset, name="a"),
        make_item(dataset, name="b", status="done"),
        make_item(dataset, name="c"),
    )
    make_task(new)
    assert service.tasks_plan(dataset=dataset, user=researcher, scope="untasked")["items"] == 2
    assert service.tasks_plan(
        dataset=dataset, user=researcher, scope="filter", filters={"status": "done"}, overlap=2
    ) == {
        "items": 1,
        "created": 1,
        "existing": 3,
        "assigned": 0,
        "unassigned": 2,
    }
    assert Task.objects.filter(item=done).count() == 2
    assert (
        service.tasks_plan(dataset=dataset, user=researcher, scope="selection", item_ids=[third.pk], overlap=3)[
            "created"
        ]
        == 2
    )
    version = version_create(dataset=dataset, user=researcher, seed=1)
    late = make_item(dataset, name="after the version")
    counts = service.tasks_plan(dataset=dataset, user=researcher, scope="untasked", version_id=version.pk)
    assert counts["items"] == 0 and not Task.objects.filter(item=late).exists()


def test_bad_scopes_name_their_field(dataset, researcher, team_b, outsider):
    make_item(dataset, name="a")
    cases = [
        ({"scope": "everything"}, "scope"),
        ({"scope": "selection"}, "items"),
        ({"scope": "all", "item_ids": [1]}, "items"),
        ({"scope": "all", "filters": {"status": "new"}}, "filter"),
        ({"scope": "filter", "filters": {"status": "sideways"}}, "status"),
        ({"scope": "all", "version_id": 999999}, "version"),
        ({"scope": "all", "overlap": 11}, "overlap"),
        ({"scope": "all", "reviewer_id": outsider.pk}, "reviewer"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ValidationError) as refused:
            service.tasks_plan(dataset=dataset, user=researcher, **kwargs)
        assert field in refused.value.message_dict, kwargs
    assert Task.objects.count() == 0


def test_only_researchers_and_team_admins_plan_and_assign(dataset, annotator, reviewer):
    for person in (annotator, reviewer):
        with pytest.raises(PermissionDenied):
            service.tasks_plan(dataset=dataset, user=person)
        with pytest.raises(PermissionDenied):
            service.tasks_assign(dataset=dataset, user=person, task_ids=[1], annotator_ids=[])


def test_reassign_by_hand_round_robin_and_take_back(dataset, researcher, annotators):
    first, second, third = annotators
    tasks = [make_task(item, assignee=first) for item in items(dataset, 4)]
    ids = [t.pk for t in tasks]
    assert service.tasks_assign(dataset=dataset, user=researcher, task_ids=ids[:1], annotator_ids=[third.pk]) == {
        "assigned": 1,
        "unassigned": 0,
    }
    service.tasks_assign(dataset=dataset, user=researcher, task_ids=ids[1:], annotator_ids=[second.pk, third.pk])
    assert [Task.objects.get(pk=pk).assignee_id for pk in ids] == [third.pk, second.pk, third.pk, second.pk]
    assert service.tasks_assign(dataset=dataset, user=researcher, task_ids=ids[:2], annotator_ids=[])["unassigned"] == 2
    assert list(Task.objects.filter(pk__in=ids[:2]).values_list("assignee_id", "assigned_at")) == [(None, None)] * 2


def test_reassigning_refuses_closed_work_foreign_tasks_and_a_second_task_of_an_item(
    dataset, researcher, annotators, team_b, outsider
):
    first, second, _ = annotators
    item = make_item(dataset, name="shared")
    one, two = make_task(item, assignee=first), make_task(item, assignee=second, overlap_index=1)
    submitted = make_task(make_item(dataset, name="handed in"), assignee=first, status="submitted")
    from labeling.services.datasets import dataset_create

    foreign = make_task(make_item(dataset_create(user=outsider, team_id=team_b.pk, name="B"), name="x"))
    refusals = [
        ([two.pk], [first.pk], "annotators"),  # first holds `one` of the same item
        ([submitted.pk], [second.pk], "tasks"),
        ([foreign.pk], [second.pk], "tasks"),
        ([], [second.pk], "tasks"),
    ]
    for task_ids, annotator_ids, field in refusals:
        with pytest.raises(ValidationError) as refused:
            service.tasks_assign(dataset=dataset, user=researcher, task_ids=task_ids, annotator_ids=annotator_ids)
        assert field in refused.value.message_dict
    assert Task.objects.get(pk=two.pk).assignee_id == second.pk and Task.objects.get(pk=one.pk).assignee_id == first.pk
    # Swapping the two tasks of an item in one call is fine: each moves away from the other.
    service.tasks_assign(
        dataset=dataset, user=researcher, task_ids=[one.pk, two.pk], annotator_ids=[second.pk, first.pk]
    )
    assert sorted(holders(dataset)[item.pk]) == sorted([first.pk, second.pk])


def test_a_claim_landing_between_read_and_write_fails_the_whole_call(dataset, researcher, annotators, monkeypatch):
    tasks = [make_task(item) for item in items(dataset, 3)]
    real = service._assign_round_robin

    def claim_first_meanwhile(dataset, chosen, others, annotator_ids, *, reviewer_for):
        Task.objects.filter(pk=tasks[0].pk).update(assignee=annotators[2])  # "next task" got there first
        return real(dataset, chosen, others, annotator_ids, reviewer_for=reviewer_for)

    monkeypatch.setattr(service, "_assign_round_robin", claim_first_meanwhile)
    with pytest.raises(service.Conflict):
        service.tasks_assign(
            dataset=dataset, user=researcher, task_ids=[t.pk for t in tasks], annotator_ids=[annotators[0].pk]
        )
    assert list(Task.objects.order_by("id").values_list("assignee_id", flat=True)) == [None, None, None]


def test_a_chosen_reviewer_gets_the_review_and_others_do_not(
    dataset, researcher, annotator, reviewer, team_a, team_admin
):
    other_reviewer = MembershipFactory(team=team_a, user=UserFactory(username="rev_b"), is_reviewer=True).user
    make_item(dataset, name="a")
    service.tasks_plan(dataset=dataset, user=researcher, annotator_ids=[annotator.pk], reviewer_id=reviewer.pk)
    task = Task.objects.select_related("dataset", "reviewer").get()
    assert task.reviewer_id == reviewer.pk
    Task.objects.filter(pk=task.pk).update(status="submitted")
    assert list(tasks_for_user(user=reviewer, review=True)) == [task]
    assert list(tasks_for_user(user=other_reviewer, review=True)) == []
    check_may_review(reviewer, task)
    check_may_review(team_admin, task)  # a team admin unblocks a task whose reviewer is away
    with pytest.raises(PermissionDenied) as refused:
        check_may_review(other_reviewer, task)
    assert str(refused.value) == REVIEW_ROUTED_ELSEWHERE.format(reviewer="reviewer")
    assert service.tasks_set_reviewer(dataset=dataset, user=researcher, task_ids=[task.pk], reviewer_id=None) == {
        "updated": 1
    }
    assert list(tasks_for_user(user=other_reviewer, review=True)) == [task]


def test_nobody_is_routed_their_own_work(dataset, researcher, reviewer, annotator):
    make_item(dataset, name="a")
    with pytest.raises(ValidationError) as both:
        service.tasks_plan(dataset=dataset, user=researcher, annotator_ids=[reviewer.pk], reviewer_id=reviewer.pk)
    assert both.value.message_dict == {"reviewer": [service.REVIEWER_ANNOTATES]}
    service.tasks_plan(dataset=dataset, user=researcher, annotator_ids=[reviewer.pk])
    task = Task.objects.get()
    with pytest.raises(ValidationError) as own:
        service.tasks_set_reviewer(dataset=dataset, user=researcher, task_ids=[task.pk], reviewer_id=reviewer.pk)
    assert own.value.message_dict == {"reviewer": [service.REVIEWER_OWN_WORK.format(ids=task.pk)]}
    with pytest.raises(ValidationError):
        service.tasks_set_reviewer(dataset=dataset, user=researcher, task_ids=[task.pk], reviewer_id=annotator.pk)
    assert Task.objects.get().reviewer_id is None


def test_progress_counts_by_state_per_annotator_and_per_reviewer(dataset, researcher, annotators, reviewer, team_admin):
    first, second, _ = annotators
    for i, (assignee, status, chosen) in enumerate(
        [
            (first, "new", reviewer),
            (first, "submitted", reviewer),
            (first, "accepted", None),
            (second, "rejected", None),
            (second, "in_progress", None),
            (None, "new", None),
        ]
    ):
        task = make_task(make_item(dataset, name=f"i{i}"), assignee=assignee, status=status)
        Task.objects.filter(pk=task.pk).update(
            reviewer=chosen, reviewed_by=team_admin if status == "accepted" else None
        )
    progress = task_progress(dataset=dataset)
    rows = {row["username"]: row for row in progress["annotators"]}
    assert {k: rows["annotator"][k] for k in ("new", "submitted", "accepted", "total")} == {
        "new": 1,
        "submitted": 1,
        "accepted": 1,
        "total": 3,
    }
    assert (rows["ann_b"]["rejected"], rows["ann_b"]["in_progress"], rows[None]["new"]) == (1, 1, 1)
    assert progress["annotators"][-1]["user"] is None  # unassigned last
    reviewers = {row["username"]: row for row in progress["reviewers"]}
    assert (reviewers["reviewer"]["new"], reviewers["reviewer"]["submitted"], reviewers["lead"]["accepted"]) == (
        1,
        1,
        1,
    )
    assert reviewers[None]["total"] == 3
    assert progress["total"] == {"new": 2, "in_progress": 1, "submitted": 1, "accepted": 1, "rejected": 1}
