"""The language a job runs in: the one of whoever started it."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="language",
            field=models.CharField(
                blank=True,
                editable=False,
                help_text="The language of whoever started the job: its messages, and the reasons it keeps, are written in it.",
                max_length=10,
                verbose_name="language",
            ),
        ),
    ]
