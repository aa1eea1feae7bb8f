"""Which items of a dataset a piece of work covers: the lead's task-making (docs/annotation.md "Making
and assigning tasks") and pre-label runs (docs/models.md "Pre-label runs") read scopes the same way.

Scopes: `all` items, `untasked` (items without any task), `filter` (the dataset grid's query parameters,
read by labeling/filters.py), `selection` (item ids). A version narrows any scope to that version's items.
"""

from django.core.exceptions import ValidationError

from labeling.filters import item_filters_from
from labeling.models import Dataset, Task, VersionItem
from labeling.selectors.datasets import items_of_dataset
from labeling.services.annotation_tasks import items_in_dataset

SCOPES = ("all", "untasked", "filter", "selection")
NOT_A_SCOPE = f"Use one of: {', '.join(SCOPES)}."
SELECTION_NEEDS_ITEMS = "Choose at least one item."
FILTER_WITHOUT_SCOPE = "A filter applies to the scope `filter` only."
ITEMS_WITHOUT_SELECTION = "Items apply to the scope `selection` only."
NO_SUCH_VERSION = "No version {id} of this dataset."


def scope_errors(*, scope: str, filters: dict | None, item_ids: list[int] | None) -> dict[str, list[str]]:
    """What is wrong with a scope and its arguments, by field name (empty when nothing is)."""
    errors = {}
    if scope not in SCOPES:
        errors["scope"] = [NOT_A_SCOPE]
    if scope == "selection" and not item_ids:
        errors["items"] = [SELECTION_NEEDS_ITEMS]
    if scope != "selection" and item_ids:
        errors["items"] = [ITEMS_WITHOUT_SELECTION]
    if scope != "filter" and filters and any(filters.values()):
        errors["filter"] = [FILTER_WITHOUT_SCOPE]
    return errors


def item_ids_in_scope(
    *,
    dataset: Dataset,
    scope: str,
    filters: dict | None = None,
    item_ids: list[int] | None = None,
    version_id: int | None = None,
) -> list[int]:
    """The scope's item ids in id order (checked by `scope_errors` first). A bad filter value, an item
    of another dataset or a version of another dataset raises a ValidationError naming the field."""
    if scope == "selection":
        items = items_in_dataset(dataset=dataset, item_ids=item_ids)
    elif scope == "filter":
        chosen = item_filters_from(dataset=dataset, params=filters or {})
        items = list(items_of_dataset(dataset=dataset, **chosen).values_list("id", flat=True))
    else:
        items = list(dataset.items.values_list("id", flat=True))
    if scope == "untasked":
        tasked = set(Task.objects.filter(dataset=dataset).values_list("item_id", flat=True))
        items = [i for i in items if i not in tasked]
    if version_id is not None:
        if not dataset.versions.filter(pk=version_id).exists():
            raise ValidationError({"version": [NO_SUCH_VERSION.format(id=version_id)]})
        in_version = set(VersionItem.objects.filter(version_id=version_id).values_list("item_id", flat=True))
        items = [i for i in items if i in in_version]
    return sorted(items)
