"""Many rows in one round trip, for the GPU agent's per-second writes.

On PostgreSQL Django's cursor binds parameters on the client: every value is turned into an SQL
literal in Python, which was most of the agent's CPU at 1,024 GPUs (docs/benchmarks.md). These
helpers use psycopg's own cursor on the same connection (so Django's transaction still holds):
its parameters are bound by the server through psycopg's C dumpers, and `executemany` sends all rows
in one pipeline. No named prepared statements: Django connects with psycopg's `prepare_threshold`
off, which `executemany` respects, so a PgBouncer in transaction pooling is no problem. Raw samples,
which are only ever appended, go in by COPY. SQLite has no such split: Django's cursor is already
the driver's.
"""

from collections.abc import Sequence

from django.db import connection


def _server_bound_cursor():
    import psycopg  # PostgreSQL only; SQLite mode does not need the driver

    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def rows_execute(sql: str, params: Sequence[Sequence]) -> None:
    """Run `sql` (with %s placeholders) once per row of `params`."""
    if not params:
        return
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)
        return
    with connection.wrap_database_errors, _server_bound_cursor() as cursor:  # Django's exception classes, as elsewhere
        cursor.executemany(sql, params)


def rows_append(*, table: str, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Insert `rows` into `table`: COPY on PostgreSQL, one executemany INSERT elsewhere."""
    if not rows:
        return
    quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
    if connection.vendor != "postgresql":
        marks = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {connection.ops.quote_name(table)} ({quoted}) VALUES ({marks})"  # nosec B608 # names quoted, values bound
        rows_execute(sql, rows)
        return
    with (
        connection.wrap_database_errors,
        _server_bound_cursor() as cursor,
        cursor.copy(f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
