"""An import builds the search documents from the records in memory, as if read back."""

from trialnode.interop.files import import_ctgov_paths
from trialnode.studies import search
from trialnode.studies.models import StudySearchDocument


def test_documents_built_from_memory_equal_those_read_back(reference_data, sample_data):
    import_ctgov_paths([sample_data / "ctgov" / "sweden.json"])
    before = sorted(
        StudySearchDocument.objects.values_list(
            "study_id", "title", "body", "title_stems", "body_stems"
        )
    )
    search.index_studies([d[0] for d in before])
    after = sorted(
        StudySearchDocument.objects.values_list(
            "study_id", "title", "body", "title_stems", "body_stems"
        )
    )
    assert before == after and len(before) == 18
