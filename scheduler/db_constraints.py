"""PostgreSQL-only constraints that migrations add: no two rows on one GPU with overlapping windows.

Not in Meta.constraints: SQLite has no GiST; there the IMMEDIATE transaction serialises writers and
the services check overlap inside it. Half-open '[)' so adjacent windows [a,b) + [b,c) coexist.
"""

from django.db import models


def gpu_window_exclusion(name: str):
    from django.contrib.postgres.constraints import ExclusionConstraint
    from django.contrib.postgres.fields import RangeBoundary, RangeOperators

    class TsTzRange(models.Func):
        function = "TSTZRANGE"
        output_field = models.DateTimeField()  # only used inside the constraint expression

    return ExclusionConstraint(
        name=name,
        expressions=[
            ("gpu", RangeOperators.EQUAL),
            (TsTzRange("start", "end", RangeBoundary()), RangeOperators.OVERLAPS),
        ],
        index_type="gist",
    )


def exclusion_operations(*, model_name: str, constraint_name: str):
    """A RunPython pair adding/removing the exclusion constraint, a no-op on other databases."""
    from django.db import migrations

    def add(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
            schema_editor.add_constraint(apps.get_model("scheduler", model_name), gpu_window_exclusion(constraint_name))

    def remove(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.remove_constraint(
                apps.get_model("scheduler", model_name), gpu_window_exclusion(constraint_name)
            )

    return migrations.RunPython(add, remove, elidable=False)
