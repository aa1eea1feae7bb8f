from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("labeling", "0005_revision_merge")]

    operations = [
        migrations.AlterField("annotationrevision", "first_version", models.PositiveIntegerField()),
        migrations.AlterField("annotationrevision", "saved_at", models.DateTimeField()),
    ]
