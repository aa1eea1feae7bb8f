"""Units on the job pages: durations as durations ("1h 30m", not "5400 s"), GPU use in GPU-hours."""

from datetime import timedelta

from django import template

from scheduler.durations import format_duration

register = template.Library()


@register.filter
def duration(value) -> str:
    """Seconds (a number) or a timedelta, written as `scheduler.durations` reads it; "—" for none."""
    if value is None or value == "":
        return "—"
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return format_duration(seconds)


@register.filter
def gpu_hours(gpu_seconds) -> str:
    """GPU-seconds as GPU-hours with the unit; small amounts keep two significant digits."""
    if gpu_seconds is None:
        return "—"
    hours = float(gpu_seconds) / 3600
    if hours == 0:
        return "0 GPU-h"
    if hours < 0.01:
        return f"{hours:.2g} GPU-h"
    return f"{hours:,.2f} GPU-h"
