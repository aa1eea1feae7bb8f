"""Reservation becomes Booking, the one word pages, URLs, API and docs use: tables, foreign keys, the
many-to-many table, indexes and check constraints are renamed; no row changes.

The two check constraints go first and come back last: one names the renamed column, and SQLite rebuilds
a table from the migration state when a constraint changes, so neither may be rebuilt half renamed.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("scheduler", "0010_attempt_worker"),
        ("teams", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="gpuoccupancy", name="occupancy_kind_has_its_reference"),
        migrations.RemoveConstraint(model_name="reservation", name="reservation_end_after_start"),
        migrations.RenameModel(old_name="Reservation", new_name="Booking"),
        migrations.RenameModel(old_name="ReservationIdlePeriod", new_name="BookingIdlePeriod"),
        migrations.RenameField(model_name="gpuoccupancy", old_name="reservation", new_name="booking"),
        migrations.RenameField(model_name="job", old_name="reservation", new_name="booking"),
        migrations.RenameField(model_name="bookingidleperiod", old_name="reservation", new_name="booking"),
        migrations.AlterField(
            model_name="booking",
            name="user",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="bookings", to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.AlterField(
            model_name="booking",
            name="team",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="bookings", to="teams.team"
            ),
        ),
        migrations.AlterField(
            model_name="booking",
            name="gpus",
            field=models.ManyToManyField(related_name="bookings", to="scheduler.gpu"),
        ),
        migrations.AlterModelOptions(name="bookingidleperiod", options={"ordering": ["booking", "start"]}),
        migrations.RenameIndex(
            model_name="booking", new_name="scheduler_b_team_id_2bb85a_idx", old_name="scheduler_r_team_id_5ed753_idx"
        ),
        migrations.RenameIndex(
            model_name="booking", new_name="scheduler_b_user_id_e296b8_idx", old_name="scheduler_r_user_id_7226a8_idx"
        ),
        migrations.RenameIndex(
            model_name="booking", new_name="scheduler_b_end_f3b646_idx", old_name="scheduler_r_end_edbabc_idx"
        ),
        migrations.RenameIndex(
            model_name="bookingidleperiod",
            new_name="scheduler_b_start_5ead4d_idx",
            old_name="scheduler_r_start_aeb8dd_idx",
        ),
        migrations.AddConstraint(
            model_name="booking",
            constraint=models.CheckConstraint(
                condition=models.Q(("end__gt", models.F("start"))), name="booking_end_after_start"
            ),
        ),
        migrations.AddConstraint(
            model_name="gpuoccupancy",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("booking__isnull", False), ("kind", "booking")),
                    models.Q(("job_ref__isnull", False), ("kind", "job")),
                    _connector="OR",
                ),
                name="occupancy_kind_has_its_reference",
            ),
        ),
    ]
