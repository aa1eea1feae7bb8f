"""Demo bookings for `make run`: only where GPUs exist (the agent or the demo inventory adds them),
and idempotent: a demo user who already has a demo booking gets no second one."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.errors import Conflict
from scheduler.models import Booking, Gpu, GpuState
from scheduler.selectors.placement import GpuRequest
from scheduler.services.bookings import booking_create

DEMO_NOTE = "Demo booking"
# (user, GPUs, day offset, local start hour, hours)
DEMO_BOOKINGS = (("researcher", 2, 1, 9, 8), ("lead", 4, 2, 9, 24), ("storyteller", 1, 1, 13, 4))


def demo_bookings_seed(**kwargs) -> int:
    if not Gpu.objects.filter(state=GpuState.AVAILABLE).exists():
        return 0
    made = 0
    for username, gpus, day, hour, hours in DEMO_BOOKINGS:
        user = get_user_model().objects.filter(username=username).first()
        if user is None or Booking.objects.filter(user=user, note__startswith=DEMO_NOTE).exists():
            continue
        made += _book(user=user, gpus=gpus, day=day, hour=hour, hours=hours)
    return made


def _book(*, user, gpus: int, day: int, hour: int, hours: int) -> int:
    zone = ZoneInfo(user.time_zone)
    start = datetime.combine(timezone.localdate(timezone=zone) + timedelta(days=day), time(hour), tzinfo=zone)
    try:
        booking_create(
            user=user,
            start=start,
            end=start + timedelta(hours=hours),
            request=GpuRequest(count=gpus),
            note=f"{DEMO_NOTE}: try dragging its end",
        )
    except (ValidationError, Conflict):  # the fleet is busy or too small then: the demo goes on without this booking
        return 0
    return 1
