"""Creating and changing datasets and series."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from labeling.access import MAY_NOT_CREATE, may_change_team_datasets
from labeling.models import Character, Dataset, Series, default_label_schema
from labeling.schema import SchemaInvalid, normalized_schema
from portal.teams.access import team_ids_of
from portal.teams.models import Team

NAME_TAKEN = "The team already has a dataset with this name."
NO_SUCH_TEAM = "No such team."
# The same words for a series that does not exist and one of another team: neither is told apart.
NO_SUCH_SERIES = "No such series in this team."
NAME_MAX_LENGTH = Dataset._meta.get_field("name").max_length
NAME_REQUIRED = "Give the dataset a name."
NAME_TOO_LONG = f"A dataset name has at most {NAME_MAX_LENGTH} characters."


def dataset_create(
    *,
    user,
    team_id: int,
    name: str,
    description: str = "",
    label_schema: dict | None = None,
    series_id: int | None = None,
) -> Dataset:
    if not (team_id in team_ids_of(user) or (user.is_staff and Team.objects.filter(pk=team_id).exists())):
        raise ValidationError({"team": [NO_SUCH_TEAM]})  # not a member: the team is not theirs to name
    if not may_change_team_datasets(user, team_id):
        raise PermissionDenied(MAY_NOT_CREATE)
    name_check(name)
    schema = label_schema_checked(schema=label_schema if label_schema is not None else default_label_schema())
    series = _series_of_team(series_id=series_id, team_id=team_id)
    try:
        with transaction.atomic():
            return Dataset.objects.create(
                team_id=team_id, name=name, description=description, label_schema=schema, series=series, created_by=user
            )
    except IntegrityError:
        raise ValidationError({"name": [NAME_TAKEN]}) from None


def dataset_update(
    *, dataset: Dataset, name: str | None = None, description: str | None = None, label_schema: dict | None = None
) -> Dataset:
    if label_schema is not None:
        # Shapes of a class the new schema drops stay saved and are flagged (labeling/documents.py).
        dataset.label_schema = label_schema_checked(schema=label_schema)
    if name is not None:
        name_check(name)
        dataset.name = name
    if description is not None:
        dataset.description = description
    try:
        with transaction.atomic():
            dataset.save(update_fields=["name", "description", "label_schema"])
    except IntegrityError:
        raise ValidationError({"name": [NAME_TAKEN]}) from None
    return dataset


def name_check(name: str) -> None:
    """The API's serializer checks this too; pages post the raw field."""
    if not name.strip():
        raise ValidationError({"name": [NAME_REQUIRED]})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError({"name": [NAME_TOO_LONG]})


def label_schema_checked(*, schema: dict) -> dict:
    """The schema with its optional keys filled, or a 400 saying what to fix."""
    try:
        return normalized_schema(schema)
    except SchemaInvalid as invalid:
        raise ValidationError({"label_schema": invalid.messages}) from None


def series_create(*, team_id: int, title: str, characters: list[str] = ()) -> Series:
    with transaction.atomic():
        series = Series.objects.create(team_id=team_id, title=title)
        Character.objects.bulk_create([Character(series=series, name=name) for name in characters])
    return series


def _series_of_team(*, series_id: int | None, team_id: int) -> Series | None:
    if series_id is None:
        return None
    series = Series.objects.filter(pk=series_id, team_id=team_id).first()
    if series is None:
        raise ValidationError({"series": [NO_SUCH_SERIES]})
    return series
