"""What the admin reports (portal/reports, issue 24) read from labeling: one function per report,
returning plain rows for a half-open range [lo, hi) of UTC instants and a set of teams, so that a
monthly snapshot can store exactly what the live report shows.

Days are the site zone's (docs/decisions.md §3), so an evening submission on the day of a clock change
lands on the right day. Up to 92 days (a chart's daily steps) each instant is placed on its local
date by comparing it with the range's day edges (UTC instants, 23- and 25-hour days included): the
database's own comparisons, where TruncDate with a zone calls a Python function per row on SQLite
(bench/reports.py, 150,000 events in a month: 590 → 200 ms). Longer ranges truncate (TruncDate),
which does not grow with the number of days.
"""

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db.models import Case, Count, DateField, Q, Sum, Value, When
from django.db.models.functions import TruncDate

from labeling.models import Annotation, Review, Task, TaskStatus
from labeling.quality import agreement_of

CASE_DAYS = 92


def _tasks(team_ids, user_id):
    tasks = Task.objects.all()
    if team_ids is not None:
        tasks = tasks.filter(dataset__team_id__in=team_ids)
    if user_id is not None:
        tasks = tasks.filter(Q(assignee_id=user_id) | Q(reviews__reviewer_id=user_id)).distinct()
    return tasks


@dataclass(frozen=True)
class LabelingRow:
    day: date  # in the site zone
    user_id: int
    labelled: int  # tasks the person submitted that day (one item each)
    focused_seconds: int  # their workspace time on those tasks
    reviewed: int  # reviews the person made that day
    rejected: int


def labeling_activity(*, lo: datetime, hi: datetime, team_ids=None, user_id: int | None = None) -> list[LabelingRow]:
    """Per local day and person: items labelled (submitted), their focused time, reviews and rejections."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    tasks = _tasks(team_ids, None)
    submitted = (
        tasks.filter(submitted_at__gte=lo, submitted_at__lt=hi, assignee__isnull=False)
        .annotate(day=_local_day("submitted_at", lo=lo, hi=hi, zone=zone))
        .values("day", "assignee_id")
        .annotate(n=Count("pk"), seconds=Sum("focused_seconds"))
    )
    reviews = Review.objects.filter(created_at__gte=lo, created_at__lt=hi, reviewer__isnull=False)
    if team_ids is not None:
        reviews = reviews.filter(task__dataset__team_id__in=team_ids)
    reviewed = (
        reviews.annotate(day=_local_day("created_at", lo=lo, hi=hi, zone=zone))
        .values("day", "reviewer_id")
        .annotate(n=Count("pk"), rejected=Count("pk", filter=Q(decision="reject")))
    )
    cells: dict[tuple, dict] = defaultdict(lambda: {"labelled": 0, "seconds": 0, "reviewed": 0, "rejected": 0})
    for row in submitted:
        cell = cells[(row["day"], row["assignee_id"])]
        cell["labelled"], cell["seconds"] = row["n"], row["seconds"] or 0
    for row in reviewed:
        cell = cells[(row["day"], row["reviewer_id"])]
        cell["reviewed"], cell["rejected"] = row["n"], row["rejected"]
    rows = [
        LabelingRow(day, person, c["labelled"], c["seconds"], c["reviewed"], c["rejected"])
        for (day, person), c in cells.items()
        if user_id is None or person == user_id
    ]
    return sorted(rows, key=lambda r: (r.day, r.user_id))


def _local_day(field: str, *, lo: datetime, hi: datetime, zone):
    """The site-zone date of `field` for rows already inside [lo, hi): the first day it ends before."""
    if hi - lo > timedelta(days=CASE_DAYS):
        return TruncDate(field, tzinfo=zone)
    whens, day = [], lo.astimezone(zone).date()
    while True:
        following = day + timedelta(days=1)
        end = datetime(following.year, following.month, following.day, tzinfo=zone).astimezone(UTC)
        whens.append(When(**{f"{field}__lt": min(end, hi)}, then=Value(day)))
        if end >= hi:
            return Case(*whens, default=Value(day), output_field=DateField())
        day = following


@dataclass(frozen=True)
class AgreementRow:
    dataset_id: int
    dataset: str
    items: int  # items with two or more documents handed in during the range
    pairs: int
    f1: float | None
    character_error_rate: float | None


def labeling_agreement(*, lo: datetime, hi: datetime, team_ids=None) -> list[AgreementRow]:
    """Agreement (labeling.quality) between the documents of items labelled by several annotators,
    over the tasks submitted in the range, per dataset."""
    handed_in = _tasks(team_ids, None).filter(
        status__in=(TaskStatus.SUBMITTED, TaskStatus.ACCEPTED), submitted_at__gte=lo, submitted_at__lt=hi
    )
    overlapped = handed_in.values("item_id").annotate(n=Count("id")).filter(n__gt=1).values("item_id")
    documents = (
        Annotation.objects.filter(task__in=handed_in.filter(item_id__in=overlapped))
        .order_by("task__dataset_id", "task__item_id", "task_id")
        .values_list("task__dataset_id", "task__dataset__name", "task__item_id", "shapes")
    )
    by_dataset: dict[tuple, dict] = defaultdict(lambda: defaultdict(list))
    for dataset_id, name, item_id, shapes in documents:
        by_dataset[(dataset_id, name)][item_id].append(shapes)
    rows = []
    for (dataset_id, name), by_item in sorted(by_dataset.items()):
        found = agreement_of(by_item).as_dict()
        rows.append(
            AgreementRow(dataset_id, name, len(by_item), found["pairs"], found["f1"], found["character_error_rate"])
        )
    return rows
