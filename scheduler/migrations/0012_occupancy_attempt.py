"""A job's GPU occupancy points at its attempt by a foreign key (it held the attempt id in an untyped
`job_ref`), so a 409 and the timeline can name the job, not the attempt. Rows of attempts that no
longer exist are dropped: they could hold no GPU."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def job_ref_to_attempt(apps, schema_editor):
    occupancy = apps.get_model("scheduler", "GpuOccupancy")
    attempts = apps.get_model("scheduler", "Attempt")
    rows = occupancy.objects.filter(kind="job")
    rows.exclude(job_ref__in=attempts.objects.values("pk")).delete()
    for row in rows.only("pk", "job_ref"):
        occupancy.objects.filter(pk=row.pk).update(attempt_id=row.job_ref)


def attempt_to_job_ref(apps, schema_editor):
    occupancy = apps.get_model("scheduler", "GpuOccupancy")
    for row in occupancy.objects.filter(kind="job").only("pk", "attempt_id"):
        occupancy.objects.filter(pk=row.pk).update(job_ref=row.attempt_id)


class Migration(migrations.Migration):
    dependencies = [
        ("scheduler", "0011_rename_reservation_to_booking"),
        ("teams", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="gpuoccupancy", name="occupancy_kind_has_its_reference"),
        migrations.AddField(
            model_name="gpuoccupancy",
            name="attempt",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="occupancy",
                to="scheduler.attempt",
            ),
        ),
        migrations.RunPython(job_ref_to_attempt, attempt_to_job_ref),
        migrations.RemoveField(model_name="gpuoccupancy", name="job_ref"),
        migrations.AddConstraint(
            model_name="gpuoccupancy",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("booking__isnull", False), ("kind", "booking")),
                    models.Q(("attempt__isnull", False), ("kind", "job")),
                    _connector="OR",
                ),
                name="occupancy_kind_has_its_reference",
            ),
        ),
    ]
