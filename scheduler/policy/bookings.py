"""Bookings and the jobs around them (docs/decisions.md §4).

- A job outside any booking may use a GPU only if it ends, by its time limit, before any booking
  on that GPU begins (and never while a booking on it is active).
- A job submitted into its team's booking runs only on that booking's GPUs, starts inside the
  window and ends, by its time limit, before the window closes.
"""

from __future__ import annotations

import math
from typing import Optional

from scheduler.policy import reasons
from scheduler.policy.types import Booking, PendingJob

INFINITY = math.inf


def booked_from(bookings: tuple, now: float) -> dict:
    """GPU id -> start of the earliest booking on it that has not ended; unbooked GPUs are absent."""
    horizon: dict = {}
    for booking in bookings:
        if booking.end <= now:
            continue
        for gpu_id in booking.gpus:
            if booking.start < horizon.get(gpu_id, INFINITY):
                horizon[gpu_id] = booking.start
    return horizon


def bookings_by_gpu(bookings: tuple, now: float) -> dict:
    """GPU id -> (start, end) windows of its bookings that have not ended, earliest first."""
    windows: dict = {}
    for booking in bookings:
        if booking.end <= now:
            continue
        for gpu_id in booking.gpus:
            windows.setdefault(gpu_id, []).append((booking.start, booking.end))
    for gpu_id in windows:
        windows[gpu_id].sort()
    return windows


def booking_block(job: PendingJob, booking: Optional[Booking], now: float) -> Optional[str]:
    """Why a job submitted into a booking cannot start now (a reason code), or None when it may."""
    if job.booking_id is None:
        return None
    if booking is None or booking.team != job.team or booking.end <= now:
        return reasons.BOOKING_NOT_USABLE
    if job.time_limit > booking.end - booking.start or len(booking.gpus) < job.gpus:
        return reasons.BOOKING_TOO_SHORT
    if now < booking.start:
        return reasons.BOOKING_NOT_STARTED
    if now + job.time_limit > booking.end:
        return reasons.BOOKING_TOO_SHORT
    return None
