"""The demo's three regions: GiBleed and two replicas with offset ids."""

from __future__ import annotations

from trialnode.counts.demo import load_counts_demo
from trialnode.counts.models import CountRequest, DataSource, Peer, RegionResult


def test_the_demo_sets_up_three_regions_and_an_example_count(users, omop, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    message = load_counts_demo(omop.parent)
    assert "Region Västmanland" in message
    assert DataSource.objects.count() == Peer.objects.count() == 3
    request = CountRequest.objects.get()
    states = dict(request.results.values_list("peer__slug", "state"))
    assert states == {
        "uppsala": RegionResult.State.ANSWERED,
        "orebro": RegionResult.State.ANSWERED,
        "vastmanland": RegionResult.State.AWAITING_APPROVAL,
    }
    # The replica holds copies of the same persons under other ids, so the same exact
    # count (266) with other record keys: each release covers it.
    for result in request.results.exclude(released={}):
        low, high = result.released["interval"]
        assert low <= 266 <= high and result.released["persons"] % 10 == 0
    assert (tmp_path / "counts" / "omop" / "orebro" / "person.parquet").is_file()


def test_without_sample_data_the_demo_says_counts_need_omop_data(db, tmp_path):
    assert "need OMOP data" in load_counts_demo(tmp_path)
    assert not DataSource.objects.exists()
