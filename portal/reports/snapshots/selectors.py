"""Reading monthly snapshots: the quota report reads these for closed months (portal/reports/quotas.py)."""

from datetime import date

from portal.reports.snapshots.models import SnapshotMonth, SnapshotRow


def snapshot_rows(*, month: date, team_ids: list[int]) -> list[SnapshotRow] | None:
    """The month's rows for these teams, or None when the month has no snapshot (read it live)."""
    snapshot = SnapshotMonth.objects.filter(month=month).first()
    if snapshot is None:
        return None
    return list(snapshot.rows.filter(team_id__in=team_ids))
