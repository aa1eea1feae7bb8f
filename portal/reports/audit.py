"""Reading the audit log (docs/reports.md "Audit log"): portal's own rows (`portal.audit`) merged with
training's alias history, which is the record of alias moves and is never written twice.

Site admins read everything; a team admin reads the entries of their teams (an entry without a team,
such as a drain, is site-wide and for site admins only); anyone else has no audit log (404).
"""

from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from heapq import merge
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from portal.audit.models import AuditEntry
from portal.inputs import InputError, integer_from, text_from, year_check
from portal.reports.quotas import report_teams_for
from training.selectors.registry import alias_moves_between

ALIAS_MOVE = "alias_move"
ACTIONS = dict(AuditEntry.Action.choices) | {ALIAS_MOVE: "Model alias moved"}
NO_AUDIT_LOG = "No audit log for you here."
NOT_A_DATE = "Give a date as YYYY-MM-DD, e.g. 2026-11-24."
UNKNOWN_ACTION = "Unknown action; one of: {actions}."
UNKNOWN_ACTOR = "No user with this name."
END_BEFORE_START = "The end comes before the start."


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    id: str  # "entry-<pk>" or "alias-<pk>": the two sources' ids apart
    actor: str  # "" for the system
    action: str
    action_label: str
    team_id: int | None
    team: str
    target_type: str
    target_id: str
    target: str
    before: Any
    after: Any

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class AuditFilters:
    actor_id: int | None = None
    action: str | None = None
    team_id: int | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def audit_teams_for(user) -> list[int] | None:
    """The team ids whose entries the user reads; None for a site admin (everything). 404 for others."""
    if user.is_staff:
        return None
    team_ids = list(report_teams_for(user).values_list("pk", flat=True))
    if not team_ids:
        raise Http404(NO_AUDIT_LOG)
    return team_ids


def _day_start(day: date) -> datetime:
    """Days start at midnight in the site time zone (docs/decisions.md §3, as months do)."""
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def _date(name: str, raw: str, errors: dict) -> date | None:
    try:
        value = date.fromisoformat(text_from(raw).strip())
        year_check(value.year)
        return value
    except (InputError, ValueError) as exc:
        errors[name] = [str(exc) if isinstance(exc, InputError) else NOT_A_DATE]
        return None


def audit_filters_from(params, *, user) -> AuditFilters:
    """Query parameters → filters; a bad one is a ValidationError naming it; another team is a 404."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if params.get("actor"):
        actor = get_user_model().objects.filter(username=params["actor"]).values_list("pk", flat=True).first()
        if actor is None:
            errors["actor"] = [UNKNOWN_ACTOR]
        values["actor_id"] = actor
    if params.get("action"):
        if params["action"] not in ACTIONS:
            errors["action"] = [UNKNOWN_ACTION.format(actions=", ".join(ACTIONS))]
        values["action"] = params["action"]
    if params.get("team"):
        try:
            values["team_id"] = integer_from(params["team"], minimum=1)
        except InputError as exc:
            errors["team"] = [str(exc)]
    since = _date("since", params["since"], errors) if params.get("since") else None
    until = _date("until", params["until"], errors) if params.get("until") else None
    if since and until and until < since:
        errors["until"] = [END_BEFORE_START]
    if errors:
        raise ValidationError(errors)
    allowed = audit_teams_for(user)
    if values.get("team_id") is not None and allowed is not None and values["team_id"] not in allowed:
        raise Http404(NO_AUDIT_LOG)  # another team's log: as if it did not exist (docs/decisions.md §2)
    return AuditFilters(
        since=_day_start(since) if since else None,
        until=_day_start(until + timedelta(days=1)) if until else None,  # the end day is included
        **values,
    )


def _entries(filters: AuditFilters, team_ids: list[int] | None):
    entries = AuditEntry.objects.all()
    if team_ids is not None:
        entries = entries.filter(team_id__in=team_ids)
    if filters.team_id is not None:
        entries = entries.filter(team_id=filters.team_id)
    if filters.actor_id is not None:
        entries = entries.filter(actor_id=filters.actor_id)
    if filters.action is not None:
        entries = entries.filter(action=filters.action) if filters.action != ALIAS_MOVE else entries.none()
    if filters.since is not None:
        entries = entries.filter(at__gte=filters.since)
    if filters.until is not None:
        entries = entries.filter(at__lt=filters.until)
    return entries.order_by("-at", "-id")


def _moves(filters: AuditFilters, team_ids: list[int] | None):
    if filters.team_id is not None:
        team_ids = [filters.team_id]
    moves = alias_moves_between(team_ids=team_ids, actor_id=filters.actor_id, since=filters.since, until=filters.until)
    if filters.action not in (None, ALIAS_MOVE):
        return moves.none()
    return moves


def _entry_row(entry: AuditEntry) -> AuditRow:
    return AuditRow(
        at=entry.at,
        id=f"entry-{entry.pk}",
        actor=entry.actor_name,
        action=entry.action,
        action_label=ACTIONS.get(entry.action, entry.action),
        team_id=entry.team_id,
        team=entry.team_name,
        target_type=entry.target_type,
        target_id=entry.target_id,
        target=entry.target,
        before=entry.before,
        after=entry.after,
    )


def _move_row(move) -> AuditRow:
    return AuditRow(
        at=move.moved_at,
        id=f"alias-{move.pk}",
        actor=move.moved_by.username if move.moved_by else "",
        action=ALIAS_MOVE,
        action_label=ACTIONS[ALIAS_MOVE],
        team_id=move.model.team_id,
        team=move.model.team.name,
        target_type="model_alias",
        target_id=f"{move.model_id}:{move.alias}",
        target=f"{move.model.name}@{move.alias}",
        before={"version": move.from_number},
        after={"version": move.to_number},
    )


class AuditLog:
    """Both sources as one list, newest first, sliced lazily (a Paginator reads count() and a slice):
    a page reads at most `stop` rows from each source."""

    def __init__(self, *, user, filters: AuditFilters):
        team_ids = audit_teams_for(user)
        self._entries = _entries(filters, team_ids)
        self._moves = _moves(filters, team_ids)

    def count(self) -> int:
        return self._entries.count() + self._moves.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        stop = index.stop if index.stop is not None else self.count()
        rows = merge(
            (_entry_row(e) for e in self._entries[:stop]),
            (_move_row(m) for m in self._moves[:stop]),
            key=lambda row: row.at,
            reverse=True,
        )
        return list(rows)[index.start or 0 : stop]


def audit_log(*, user, filters: AuditFilters | None = None) -> AuditLog:
    return AuditLog(user=user, filters=filters or AuditFilters())
