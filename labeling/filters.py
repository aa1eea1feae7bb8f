"""The dataset grid's filters, read from a query string the same way by the page and the API.

`status`, `kind`, `near_duplicate`, `class` (any class name, also one that left the schema),
`tag` (a class whose shapes are ["tag"] in the dataset's schema: an alias of `class` restricted to
tags) and `annotator` (a user id: items with a task assigned to that person). Bad values raise a
ValidationError naming the parameter (a 400 in the API, a message on the page).
"""

from django.core.exceptions import ValidationError

from labeling.models import Dataset, ItemKind, ItemStatus
from labeling.schema import SchemaInvalid, normalized_schema
from portal.inputs import InputError, integer_from

NOT_A_STATUS = f"Use one of: {', '.join(ItemStatus.values)}."
NOT_A_KIND = f"Use one of: {', '.join(ItemKind.values)}."
NOT_A_BOOLEAN = "Use true or false."
NOT_A_USER_ID = "Give the annotator's user id."
NOT_A_TAG = "Not a tag of this dataset's label schema."
CLASS_NAME_TOO_LONG = "A class name has at most 64 characters."
CLASS_AND_TAG = "Give `class` or `tag`, not both."


def tag_names_of(dataset: Dataset) -> list[str]:
    """Classes whose only shape is `tag`: image-level tags."""
    return [c["name"] for c in _classes_of(dataset) if c["shapes"] == ["tag"]]


def shape_class_names_of(dataset: Dataset) -> list[str]:
    """Classes drawn as boxes or polygons (everything but pure tags)."""
    return [c["name"] for c in _classes_of(dataset) if c["shapes"] != ["tag"]]


def _classes_of(dataset: Dataset) -> list[dict]:
    try:
        return normalized_schema(dataset.label_schema)["classes"]
    except SchemaInvalid:
        return []


def item_filters_from(*, dataset: Dataset, params) -> dict:
    """Keyword arguments for labeling.selectors.datasets.items_of_dataset from a QueryDict (empty values ignored)."""
    errors, filters = {}, {}
    status = params.get("status") or None
    if status is not None and status not in ItemStatus.values:
        errors["status"] = [NOT_A_STATUS]
    filters["status"] = status
    kind = params.get("kind") or None
    if kind is not None and kind not in ItemKind.values:
        errors["kind"] = [NOT_A_KIND]
    filters["kind"] = kind
    filters["near_duplicate"] = _boolean(params.get("near_duplicate"), "near_duplicate", errors)
    class_name, tag = params.get("class") or None, params.get("tag") or None
    if class_name is not None and len(class_name) > 64:
        errors["class"] = [CLASS_NAME_TOO_LONG]
    if class_name is not None and tag is not None:
        errors["tag"] = [CLASS_AND_TAG]
    elif tag is not None and tag not in tag_names_of(dataset):
        errors["tag"] = [NOT_A_TAG]
    filters["class_name"] = class_name or tag
    annotator = params.get("annotator") or None
    filters["annotator_id"] = None
    if annotator is not None:
        try:
            filters["annotator_id"] = integer_from(annotator)
        except InputError:
            errors["annotator"] = [NOT_A_USER_ID]
    if errors:
        raise ValidationError(errors)
    return filters


def _boolean(value: str | None, name: str, errors: dict) -> bool | None:
    if value in (None, ""):
        return None
    if value.lower() in ("true", "1", "on"):
        return True
    if value.lower() in ("false", "0"):
        return False
    errors[name] = [NOT_A_BOOLEAN]
    return None
