"""Signals labeling sends, after commit, for the apps above it (portal/signals.py says how)."""

from django.dispatch import Signal

# A new version of a dataset was frozen. Arguments: version_id, dataset_id.
version_frozen = Signal()
# An export ended (succeeded or failed). Arguments: export_job_id, state.
export_finished = Signal()
