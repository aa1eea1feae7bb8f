"""Pages of history and quality: an item's saved versions and reviews with a diff between
two versions, and a dataset's quality figures. Server-rendered from the same selectors as the API."""

from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import render

from labeling import access
from labeling.documents import document_diff, shape_names
from labeling.models import Task
from labeling.selectors import annotation_tasks as annotation_task_selectors
from labeling.selectors import quality as quality_selectors
from labeling.services.annotations import annotation_versions
from portal.inputs import integer_from


@login_required
def item_history_page(request, pk: int):
    item = access.access_item_for_user(request.user, pk)
    history = annotation_task_selectors.item_history(item=item)
    tasks = Task.objects.filter(item=item)
    if not access.may_see_team_work(request.user, item.dataset):  # an annotator sees their own tasks' history only
        tasks = tasks.filter(assignee=request.user)
        own = set(tasks.values_list("pk", flat=True))
        history = {key: [row for row in rows if row["task"] in own] for key, rows in history.items()}
    diff, chosen, diff_error = _chosen_diff(request, tasks)
    chosen = chosen or _newest_step(history["revisions"])
    history = _for_people(history)
    return render(
        request,
        "labeling/item_history.html",
        {
            "item": item,
            "dataset": item.dataset,
            "history": history,
            "tasks": tasks.select_related("assignee"),
            "diff": diff,
            "chosen": chosen,
            "diff_error": diff_error,
        },
    )


def _newest_step(revisions: list[dict]) -> dict:
    """The form's default: the newest revision against the one before it on the same task (kept
    versions only, so the comparison always exists)."""
    if not revisions:
        return {}
    newest = revisions[0]
    before = next((r["version"] for r in revisions[1:] if r["task"] == newest["task"]), 0)
    return {"task": newest["task"], "from": before, "to": newest["version"]}


def _chosen_diff(request, tasks):
    """The diff the form asked for (?task=&from=&to=): (diff or None, what was chosen, an error to show)."""
    try:
        task_id, old, new = (integer_from(request.GET[name], minimum=0) for name in ("task", "from", "to"))
    except (KeyError, ValueError):
        return None, {}, ""
    chosen = {"task": task_id, "from": old, "to": new}
    task = tasks.filter(pk=task_id).first()
    if task is None:
        return None, chosen, f"Task {task_id} is not one of this item's tasks you can see."
    try:
        before, after = annotation_versions(task=task, from_version=old, to_version=new)
    except ValidationError as invalid:  # a version the task never had
        return None, chosen, "; ".join(invalid.messages)
    return (
        _diff_lines(document_diff(before, after), {**shape_names(before["shapes"]), **shape_names(after["shapes"])}),
        chosen,
        "",
    )


def _diff_lines(diff: dict, names: dict[str, str]) -> dict[str, list[dict]]:
    """Each change as a line a person reads: shapes by name ("speech bubble 3"), relations by what they join."""

    def label(entry: dict, key: str) -> str:
        if key == "shapes":
            return names.get(entry["id"], "a shape")
        return (
            f"{entry.get('type')}: {names.get(entry.get('from'), 'a shape')} → {names.get(entry.get('to'), 'a shape')}"
        )

    return {
        key: [{"change": "added", "text": label(entry, key)} for entry in change["added"]]
        + [{"change": "removed", "text": label(entry, key)} for entry in change["removed"]]
        + [
            {"change": "changed", "text": label(pair["after"], key), "before": pair["before"], "after": pair["after"]}
            for pair in change["changed"]
        ]
        for key, change in diff.items()
    }


def _for_people(history: dict) -> dict:
    """The selector's rows with times as datetimes (the template shows them in the viewer's time zone,
    portal.accounts.middleware) and each review's pinned shape by name at the version it reviewed."""
    names = {}
    reviews = []
    for review in history["reviews"]:
        shape = review["shape"]
        if shape:
            key = (review["task"], review["document_version"])
            if key not in names:
                names[key] = annotation_task_selectors.shape_names_at(task_id=key[0], version=key[1])
            shape = names[key].get(shape, "a removed shape")
        reviews.append({**review, "shape": shape, "created_at": datetime.fromisoformat(review["created_at"])})
    revisions = [{**r, "saved_at": datetime.fromisoformat(r["saved_at"])} for r in history["revisions"]]
    return {"revisions": revisions, "reviews": reviews}


@login_required
def dataset_quality_page(request, pk: int):
    dataset = access.access_dataset_for_user(request.user, pk)
    if not access.may_see_team_work(request.user, dataset):
        raise PermissionDenied("Quality figures are for the team's reviewers, researchers and admins.")
    return render(
        request,
        "labeling/quality.html",
        {"dataset": dataset, "quality": quality_selectors.dataset_quality(dataset=dataset)},
    )
