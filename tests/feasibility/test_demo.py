"""The demo has inquiries in every state and measures that look real."""

from __future__ import annotations

import datetime as dt

from trialnode.demo import create_demo_users
from trialnode.feasibility.demo import load_feasibility_demo
from trialnode.feasibility.models import Inquiry, InquiryState
from trialnode.feasibility.selectors import measures


def test_the_demo_has_inquiries_in_every_state_and_real_looking_measures(reference_data):
    create_demo_users()
    print(load_feasibility_demo())
    states = set(Inquiry.objects.values_list("state", flat=True))
    assert states == set(InquiryState.values)
    year = dt.date.today().year
    this_year = measures(year)
    print(this_year.as_dict())
    assert this_year.inquiries > 10
    assert 0.5 < this_year.dispatch_rate < 1
    assert this_year.days_to_dispatch["median"] is not None
    assert this_year.with_positive_answer > 0
    assert load_feasibility_demo() == "Feasibility inquiries: already loaded."
