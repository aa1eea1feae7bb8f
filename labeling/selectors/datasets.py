"""Reads for datasets, items and imports: plain functions, no writes."""

from django.db.models import F, QuerySet

from labeling import access
from labeling.models import Dataset, ImportJob, Item, Slice, Task


def datasets_for_user(*, user) -> QuerySet[Dataset]:
    return access.datasets_visible_to(user).select_related("team").order_by("-id")


def items_of_dataset(
    *,
    dataset: Dataset,
    status: str | None = None,
    kind: str | None = None,
    near_duplicate: bool | None = None,
    class_name: str | None = None,
    annotator_id: int | None = None,
    after_id: int | None = None,
    before_id: int | None = None,
) -> QuerySet[Item]:
    """Newest-first keyset pages: no OFFSET, no COUNT at 100,000 items. Ordered by `grid_key`
    (= the item's id; the cursor API pages on it) taken from the table that drives the query.

    `after_id` / `before_id` bound the page in page order (ids below / above).
    - No class filter: the (dataset, id) or (dataset, status, id) index of items.
    - `class_name` (also a tag): a join driven by ItemClass's (dataset, class_name, item) index,
      read backwards from the bound; each row finds its item by primary key. Ordering by the
      ItemClass column lets SQLite skip the sort (it does not carry an ORDER BY across a join's
      equality); a rare or unused class costs only its own rows.
    - `annotator_id`: `id IN (that person's tasks in the dataset)`, read through the Task
      (assignee, ...) index; cost grows with that person's tasks, not with the dataset (an EXISTS
      probe per item would scan every item when the person has few tasks).
    """
    items = Item.objects.filter(dataset=dataset)
    bounds = {}
    if after_id is not None:
        bounds["lt"] = after_id
    if before_id is not None:
        bounds["gt"] = before_id
    if status:
        items = items.filter(status=status)
    if kind:
        items = items.filter(kind=kind)
    if near_duplicate is not None:
        items = items.filter(near_duplicate=near_duplicate)
    if annotator_id is not None:
        tasks = Task.objects.filter(dataset=dataset, assignee_id=annotator_id, **_bounded("item_id", bounds))
        items = items.filter(id__in=tasks.values("item_id"))
    if class_name:
        # One filter() call: one join, whose column the ordering and the bounds then use.
        items = items.filter(
            classes_used__dataset=dataset,
            classes_used__class_name=class_name,
            **_bounded("classes_used__item_id", bounds),
        )
        items = items.annotate(grid_key=F("classes_used__item_id"))
    else:
        items = items.annotate(grid_key=F("id"))
    return items.filter(**_bounded("id", bounds)).order_by("-grid_key")


def _bounded(column: str, bounds: dict) -> dict:
    return {f"{column}__{op}": value for op, value in bounds.items()}


def first_slices_of(*, items: list[Item]) -> dict[int, Slice]:
    """The slice each grid cell shows (position 0), for a page of items, in one query."""
    slices = Slice.objects.filter(item__in=items, position=0)
    return {s.item_id: s for s in slices}


def members_of_team(*, team_id: int) -> list:
    """The team's people, for the grid's annotator filter (annotators first)."""
    from portal.teams.models import Membership

    rows = Membership.objects.filter(team_id=team_id).select_related("user").order_by("-is_annotator", "user__username")
    return [row.user for row in rows]


def item_names(*, ids) -> dict[int, str]:
    return dict(Item.objects.filter(pk__in=list(ids)).values_list("id", "name"))


def slices_of_item(*, item: Item) -> QuerySet[Slice]:
    return Slice.objects.filter(item=item).order_by("position")


def import_jobs_of_dataset(*, dataset: Dataset, limit: int = 20) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(dataset=dataset).order_by("-id")[:limit]


def roles_in_team(*, team_id: int) -> dict[int, dict[str, bool]]:
    """Per member: may annotate, may review (reviewers and team admins), for the task forms' choices."""
    from portal.teams.models import Membership

    rows = Membership.objects.filter(team_id=team_id).values_list(
        "user_id", "is_annotator", "is_reviewer", "is_team_admin"
    )
    return {user: {"annotator": a, "reviewer": r or admin} for user, a, r, admin in rows}
