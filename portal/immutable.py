"""Rows written once and never changed or deleted (the audit log, monthly snapshots).

A model that subclasses `ImmutableModel` and names its `immutable_error` (an exception class) and
`immutable_message` refuses, with that error and message: `save()` of a row that exists (a new row is
always an INSERT), `delete()`, and its manager's `update()`, `delete()` and `bulk_update()`. Raw SQL is
the database's business (the audit log adds a PostgreSQL trigger).
"""

from django.db import models


class ImmutableQuerySet(models.QuerySet):
    def _refuse(self):
        return self.model.immutable_error(self.model.immutable_message)

    def update(self, **kwargs):
        raise self._refuse()

    def delete(self):
        raise self._refuse()

    def bulk_update(self, objs, fields, batch_size=None):
        raise self._refuse()


class ImmutableModel(models.Model):
    immutable_error: type[Exception]
    immutable_message: str

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise self.immutable_error(self.immutable_message)
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise self.immutable_error(self.immutable_message)
