"""Disclosure protection, tried as an attacker would: differencing, averaging, rephrasing."""

from __future__ import annotations

import random

import pytest

from trialnode.counts.builder import Criterion, Spec, build
from trialnode.counts.compiler import BUCKETS
from trialnode.counts.engines import opened
from trialnode.counts.protection import (
    MemoryAnchors,
    Policy,
    add_up,
    digest,
    distance,
    perturbation,
    protect,
    release_fresh,
)
from trialnode.counts.services import run_count

CELECOXIB = Criterion("drug", ["M01AH01"])
PYELONEPHRITIS = Criterion("diagnosis", ["N12"], include=False)


@pytest.fixture
def count(gibleed, db, settings):
    settings.TRIALNODE_COUNTS_SECRET = "the node's secret in this test"

    def run(definition):
        return run_count(engine_kind="duckdb", location=str(gibleed), definition=definition)

    return run


@pytest.fixture(scope="module")
def define(gibleed):
    with opened("duckdb", str(gibleed)) as engine:

        def make(*criteria, age_min=None, age_max=None, sex=""):
            spec = Spec(
                entry=CELECOXIB,
                criteria=list(criteria),
                age_min=age_min,
                age_max=age_max,
                sex=sex,
            )
            return build(spec, engine).definition

        yield make


def test_differencing_a_small_group_out_of_a_cohort_reveals_nothing(count, define):
    everyone, everyone_released = count(define())
    without, without_released = count(define(PYELONEPHRITIS))
    group = everyone.persons - without.persons
    assert 0 < group < 10, "the attack needs a small group"
    # The attacker's estimate of the group's size is the difference of the releases.
    estimate = everyone_released["final"].value - without_released["final"].value
    assert estimate == 0
    assert everyone_released["final"].low <= without.persons <= everyone_released["final"].high


def test_differencing_works_in_either_order(count, define):
    without, without_released = count(define(PYELONEPHRITIS))
    everyone, everyone_released = count(define())
    assert 0 < everyone.persons - without.persons < 10
    assert everyone_released["final"].value == without_released["final"].value


def test_the_attrition_of_one_query_does_not_difference_a_small_group(count, define):
    result, released = count(define(PYELONEPHRITIS))
    assert 0 < result.count("initial").n - result.count("after_0").n < 10
    assert released["initial"].value == released["after_0"].value


def test_averaging_differences_over_many_bases_learns_nothing(count, define):
    """The attacker repeats the pair on many different cohorts (by age) to average the
    noise away: every difference released is zero, so the average is zero too."""
    estimates, truths = [], []
    for age in range(20, 75, 5):
        base, base_released = count(define(age_min=age))
        reduced, reduced_released = count(define(PYELONEPHRITIS, age_min=age))
        if base.persons < 10 or base.persons - reduced.persons >= 10:
            continue
        truths.append(base.persons - reduced.persons)
        estimates.append(base_released["final"].value - reduced_released["final"].value)
    assert len(estimates) >= 5 and any(truths)
    assert set(estimates) == {0}


def test_the_same_persons_get_the_same_value_however_asked(count, define):
    first = count(define(age_min=41))[1]["final"]
    for _ in range(5):
        assert count(define(age_min=41))[1]["final"] == first
    # "at least 41" and "41 to 200" are the same persons, so the same value.
    assert count(define(age_min=41, age_max=200))[1]["final"].value == first.value


def test_large_differences_are_released(count, define):
    everyone = count(define())[1]["final"]
    men = count(define(sex="male"))[1]["final"]
    assert everyone.value - men.value > 100


def test_a_group_below_the_threshold_is_not_a_number(count, define):
    result, released = count(define(Criterion("diagnosis", ["N12"])))
    assert 0 < result.persons < 10
    assert released["final"].value is None
    assert released["final"].as_json() == "<10"
    assert (released["final"].low, released["final"].high) == (0, 9)


def test_released_values_are_rounded_and_intervals_cover_the_truth():
    policy = Policy()
    rng = random.Random(7)
    for _ in range(2000):
        n = rng.randrange(10, 5000)
        released = release_fresh(n, rng.randrange(2**31 - 1), policy)
        assert released.value % 10 == 0
        assert released.low <= n <= released.high


def test_perturbations_are_spread_over_the_whole_range():
    seen = {perturbation(key, 5) for key in range(0, 2**31 - 1, 9_999_991)}
    assert seen == set(range(-5, 6))


def test_the_sketch_distance_never_exceeds_the_true_difference():
    rng = random.Random(3)
    for _ in range(300):
        a = [rng.randrange(0, 40) for _ in range(BUCKETS)]
        b = list(a)
        changes = rng.randrange(0, 12)
        for _ in range(changes):
            bucket = rng.randrange(BUCKETS)
            b[bucket] = max(0, b[bucket] + rng.choice((-1, 1)))
        true = sum(abs(x - y) for x, y in zip(a, b, strict=True))
        assert distance(digest(a), digest(b)) <= true


def test_sets_far_apart_are_not_snapped_together():
    rng = random.Random(5)
    anchors = MemoryAnchors()
    policy = Policy()
    a = [rng.randrange(0, 40) for _ in range(BUCKETS)]
    protect(sum(a), 123, a, data_version="v", policy=policy, anchors=anchors)
    b = list(a)
    for bucket in rng.sample(range(BUCKETS), 60):
        b[bucket] += 1
    protect(sum(b), 456, b, data_version="v", policy=policy, anchors=anchors)
    assert len(anchors.rows) == 2


def test_intervals_add_up_as_intervals():
    policy = Policy()
    values = [release_fresh(n, 99, policy) for n in (120, 5, 300)]
    low, high = add_up(values)
    assert low == sum(v.low for v in values) and high == sum(v.high for v in values)
    assert low <= 425 <= high
