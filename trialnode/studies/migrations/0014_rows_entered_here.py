"""Which rows of a study were entered here rather than read from its registry record. Rows
stored before count as the record's, as they were treated until now."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0013_public_search_tag_counts"),
    ]

    operations = [
        migrations.AddField(
            model_name="studycondition",
            name="entered_here",
            field=models.BooleanField(
                default=False,
                editable=False,
                help_text="A row a coordinator or registrant added: a new version of the study's registry record replaces the rows it brought, never this one.",
                verbose_name="entered here, not from the registry",
            ),
        ),
        migrations.AddField(
            model_name="studycontact",
            name="entered_here",
            field=models.BooleanField(
                default=False,
                editable=False,
                help_text="A row a coordinator or registrant added: a new version of the study's registry record replaces the rows it brought, never this one.",
                verbose_name="entered here, not from the registry",
            ),
        ),
        migrations.AddField(
            model_name="studyintervention",
            name="entered_here",
            field=models.BooleanField(
                default=False,
                editable=False,
                help_text="A row a coordinator or registrant added: a new version of the study's registry record replaces the rows it brought, never this one.",
                verbose_name="entered here, not from the registry",
            ),
        ),
        migrations.AddField(
            model_name="studysite",
            name="entered_here",
            field=models.BooleanField(
                default=False,
                editable=False,
                help_text="A row a coordinator or registrant added: a new version of the study's registry record replaces the rows it brought, never this one.",
                verbose_name="entered here, not from the registry",
            ),
        ),
    ]
