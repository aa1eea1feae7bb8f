"""The dataset's tasks page (docs/annotation.md, "Making and assigning tasks"): progress per annotator
and per reviewer for the team's reviewers, researchers and admins; for those who assign (researchers
and team admins), forms that make tasks for a scope of items, hand them out, take them back and
route their review. Plain forms, no script: each POST calls one service and redirects; a refused
one renders the page again with the form as sent and its errors (a 400)."""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse

from labeling import access
from labeling.filters import shape_class_names_of, tag_names_of
from labeling.models import ItemStatus, TaskStatus
from labeling.selectors import annotation_tasks as task_selectors
from labeling.selectors import datasets as dataset_selectors
from labeling.selectors import versions as version_selectors
from labeling.services import task_assignment
from portal.errors import ApplicationError, field_errors
from portal.inputs import InputError, integer_from, is_id_text

TASK_PAGE_SIZE = 100
FILTER_PARAMS = ("status", "kind", "class", "tag", "annotator", "near_duplicate")
MAY_NOT_SEE = "Tasks and progress are for the team's reviewers, researchers and admins."
NOT_ITEMS = "Not items of this dataset: {names}."
AMBIGUOUS_NAMES = "Several items are named {names}: give their ids."
NOT_A_NUMBER = "Give a whole number."
CHOOSE_ANNOTATORS = "Choose one annotator (by hand) or several (round-robin)."


@login_required
def dataset_tasks_page(request, pk: int):
    dataset = access.access_dataset_for_user(request.user, pk)
    if not access.may_see_team_work(request.user, dataset):
        raise PermissionDenied(MAY_NOT_SEE)
    errors, form = {}, {}
    if request.method == "POST":
        access.check_may_assign(request.user, dataset)
        form = request.POST
        try:
            messages.success(request, _ACTIONS.get(form.get("action"), _unknown_action)(request, dataset))
            return redirect(request.get_full_path())
        except ValidationError as error:
            errors = field_errors(error)
        except ApplicationError as error:
            errors = {"non_field_errors": [error.detail]}
    return render(
        request, "labeling/tasks.html", _context(request, dataset, errors, form), status=400 if errors else 200
    )


def _create(request, dataset) -> str:
    form = request.POST
    scope = form.get("scope", "untasked")
    counts = task_assignment.tasks_plan(
        dataset=dataset,
        user=request.user,
        scope=scope,
        filters={name: form.get(name, "") for name in FILTER_PARAMS} if scope == "filter" else None,
        item_ids=_items_named(dataset, form.get("items", "")) if scope == "selection" else None,
        version_id=_number(form, "version"),
        overlap=_number(form, "overlap") or 1,
        annotator_ids=_numbers(form.getlist("annotators"), "annotators"),
        reviewer_id=_number(form, "reviewer"),
    )
    return (
        f"{counts['created']} task{'s' if counts['created'] != 1 else ''} made for {counts['items']} "
        f"item{'s' if counts['items'] != 1 else ''}; {counts['assigned']} assigned, "
        f'{counts["unassigned"]} left for "next task".'
    )


def _assign(request, dataset) -> str:
    annotators = _numbers(request.POST.getlist("annotators"), "annotators")
    if not annotators:
        raise ValidationError({"annotators": [CHOOSE_ANNOTATORS]})
    counts = task_assignment.tasks_assign(
        dataset=dataset, user=request.user, task_ids=_chosen_tasks(request), annotator_ids=annotators
    )
    return f"{counts['assigned']} task(s) assigned."


def _take_back(request, dataset) -> str:
    counts = task_assignment.tasks_assign(
        dataset=dataset, user=request.user, task_ids=_chosen_tasks(request), annotator_ids=[]
    )
    return f'{counts["unassigned"]} task(s) taken back: "next task" hands them out.'


def _reviewer(request, dataset) -> str:
    counts = task_assignment.tasks_set_reviewer(
        dataset=dataset,
        user=request.user,
        task_ids=_chosen_tasks(request),
        reviewer_id=_number(request.POST, "reviewer"),
    )
    return f"Reviewer set on {counts['updated']} task(s)."


def _unknown_action(request, dataset) -> str:
    raise ValidationError({"action": ["Unknown action."]})


_ACTIONS = {"create": _create, "assign": _assign, "take_back": _take_back, "reviewer": _reviewer}


def _chosen_tasks(request) -> list[int]:
    return _numbers(request.POST.getlist("tasks"), "tasks")


def _items_named(dataset, text: str) -> list[int]:
    """The selection box: item names or ids, one a line or comma-separated."""
    tokens = [t.strip() for t in re.split(r"[\n,]", text) if t.strip()]
    by_name = {}
    for item_id, name in dataset.items.filter(name__in=tokens).values_list("id", "name"):
        by_name.setdefault(name, []).append(item_id)
    ambiguous = [t for t in tokens if len(by_name.get(t, [])) > 1]
    if ambiguous:
        raise ValidationError({"items": [AMBIGUOUS_NAMES.format(names=", ".join(ambiguous[:20]))]})
    ids, unknown = [], []
    for token in tokens:
        if token in by_name:
            ids.append(by_name[token][0])
        elif is_id_text(token):
            ids.append(int(token))  # an id: the service checks it is the dataset's
        else:
            unknown.append(token)
    if unknown:
        raise ValidationError({"items": [NOT_ITEMS.format(names=", ".join(unknown[:20]))]})
    return ids


def _number(params, name: str) -> int | None:
    value = params.get(name) or None
    if value is None:
        return None
    try:
        return integer_from(value)
    except InputError:
        raise ValidationError({name: [NOT_A_NUMBER]}) from None


def _numbers(values, name: str) -> list[int]:
    try:
        return [integer_from(v) for v in values if v]
    except InputError:
        raise ValidationError({name: [NOT_A_NUMBER]}) from None


def _context(request, dataset, errors: dict, form) -> dict:
    listing = _task_listing(request, dataset)
    people = dataset_selectors.members_of_team(team_id=dataset.team_id)
    roles = dataset_selectors.roles_in_team(team_id=dataset.team_id)
    chosen = {name: request.GET.get(name, "") for name in FILTER_PARAMS}
    return {
        "dataset": dataset,
        "progress": task_selectors.task_progress(dataset=dataset),
        "may_assign": access.may_change_team_datasets(request.user, dataset.team_id),
        "annotators": [p for p in people if roles[p.pk]["annotator"]],
        "reviewers": [p for p in people if roles[p.pk]["reviewer"]],
        "members": people,
        "versions": version_selectors.versions_of_dataset(dataset=dataset),
        "statuses": ItemStatus.choices,
        "task_statuses": TaskStatus.choices,
        "classes": shape_class_names_of(dataset),
        "tags": tag_names_of(dataset),
        "chosen": chosen,
        "from_filter": any(chosen.values()),
        # Pairs, not the dict: a field named `items` would shadow dict.items in the template.
        "error_list": [(field, message) for field, field_messages in errors.items() for message in field_messages],
        "form": form,
        "form_annotators": set(form.getlist("annotators")) if form else set(),
        **listing,
    }


def _task_listing(request, dataset) -> dict:
    """One page of the dataset's tasks, newest first, narrowed by ?task_status=&assignee=&reviewer=."""
    params = request.GET
    assignee = params.get("assignee", "")
    tasks = task_selectors.tasks_for_user(
        user=request.user,
        dataset_id=dataset.pk,
        status=params.get("task_status") if params.get("task_status") in TaskStatus.values else None,
        assignee_id=_quiet_number(assignee),
        unassigned=assignee == "none",
        reviewer_id=_quiet_number(params.get("reviewer", "")),
    )
    before = _quiet_number(params.get("before", ""))
    if before is not None:
        tasks = tasks.filter(pk__lt=before)
    page = list(tasks.order_by("-id")[: TASK_PAGE_SIZE + 1])
    shown = page[:TASK_PAGE_SIZE]
    query = {k: params.get(k, "") for k in ("task_status", "assignee", "reviewer")}
    return {
        "tasks": shown,
        "next_before": shown[-1].pk if len(page) > TASK_PAGE_SIZE else None,
        "task_query": query,
        "here": reverse("dataset-tasks", kwargs={"pk": dataset.pk}),
    }


def _quiet_number(value: str) -> int | None:
    try:
        return integer_from(value) if value else None
    except InputError:
        return None
