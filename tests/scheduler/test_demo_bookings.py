"""Demo bookings appear only when GPUs exist, and seeding again duplicates nothing."""

import pytest

from portal.demo import demo_seed
from scheduler.demo_bookings import DEMO_BOOKINGS, demo_bookings_seed
from scheduler.models import Booking, Gpu
from tests.scheduler.factories import fleet

pytestmark = pytest.mark.django_db


def test_no_gpus_no_demo_bookings():
    demo_seed()
    Booking.objects.all().delete()
    Gpu.objects.all().update(state="lost")
    assert demo_bookings_seed() == 0
    assert Booking.objects.count() == 0


def test_demo_bookings_are_made_once():
    fleet(nodes=1, per_node=8, prefix="demo")
    demo_seed()
    count = Booking.objects.count()
    assert count == len(DEMO_BOOKINGS)
    demo_seed()
    assert demo_bookings_seed() == 0
    assert Booking.objects.count() == count
