"""The agent's batched writes (scheduler/services/batch_writes.py): on PostgreSQL they bypass
Django's cursor (server-side binding, COPY), so these pin what they must still do like Django:
write inside the caller's transaction and raise Django's exception classes."""

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction

from scheduler.models import Gpu, GpuSample
from scheduler.services.batch_writes import rows_append, rows_execute
from tests.scheduler.fleet.readings import make_gpu

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)
COLUMNS = ("gpu_id", "at", "util_gpu_pct", "util_memory_pct", "memory_used_mb", "temperature_c", "power_w")


def test_appended_rows_and_updates_are_what_the_orm_reads():
    gpu = make_gpu(node_name="batch-a")
    rows_append(
        table=GpuSample._meta.db_table,
        columns=COLUMNS,
        rows=[(gpu.id, T0, 40, 10, 2048, 55, 250.5), (gpu.id, T0, None, None, None, None, None)],
    )
    rows_execute(f"UPDATE {Gpu._meta.db_table} SET util_gpu_pct = %s WHERE id = %s", [(77, gpu.id)])
    assert sorted(GpuSample.objects.filter(gpu=gpu).values_list("util_gpu_pct", "power_w", "at"), key=str) == [
        (40, 250.5, T0),
        (None, None, T0),
    ]
    assert Gpu.objects.get(pk=gpu.pk).util_gpu_pct == 77


def test_a_bad_row_raises_djangos_integrity_error_and_rolls_back_with_the_transaction():
    gpu = make_gpu(node_name="batch-b")
    with pytest.raises(IntegrityError), transaction.atomic():
        rows_execute(f"UPDATE {Gpu._meta.db_table} SET util_gpu_pct = %s WHERE id = %s", [(5, gpu.id)])
        rows_append(
            table=GpuSample._meta.db_table, columns=COLUMNS, rows=[(gpu.id, None, 1, 1, 1, 1, 1.0)]
        )  # `at` is NOT NULL
    assert Gpu.objects.get(pk=gpu.pk).util_gpu_pct is None and not GpuSample.objects.filter(gpu=gpu).exists()
