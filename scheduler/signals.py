"""Signals the scheduler sends, after commit, for the apps above it (portal/signals.py says how)."""

from django.dispatch import Signal

# A job reached a final state (succeeded, failed, timed out, cancelled). Arguments: job_id, state.
job_ended = Signal()
