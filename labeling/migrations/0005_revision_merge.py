from django.db import migrations, models


def existing_revisions_stand_alone(apps, schema_editor):
    Revision = apps.get_model("labeling", "AnnotationRevision")
    Revision.objects.update(first_version=models.F("version"), saved_at=models.F("created_at"))


# The columns become NOT NULL in 0006: on PostgreSQL, altering a table in the transaction that just
# updated its rows can fail with "pending trigger events" (its foreign keys are deferred).
class Migration(migrations.Migration):
    dependencies = [("labeling", "0004_exports")]

    operations = [
        migrations.AddField("annotationrevision", "first_version", models.PositiveIntegerField(null=True)),
        migrations.AddField("annotationrevision", "saved_at", models.DateTimeField(null=True)),
        migrations.RunPython(existing_revisions_stand_alone, migrations.RunPython.noop),
    ]
