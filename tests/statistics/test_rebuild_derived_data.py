"""Status periods can be rebuilt from the history and come out the same."""

from django.core.management import call_command

from trialnode.studies.models import StatusSpan


def test_rebuilding_gives_the_periods_kept_while_writing(known_studies):
    kept = sorted(
        StatusSpan.objects.values_list("study_id", "status", "start", "end", "first_ongoing")
    )
    StatusSpan.objects.all().delete()
    call_command("rebuild_derived_data", verbosity=0)
    rebuilt = sorted(
        StatusSpan.objects.values_list("study_id", "status", "start", "end", "first_ongoing")
    )
    assert rebuilt == kept and kept
