"""Settings of feasibility inquiries, read from the environment with strict parsing."""

from __future__ import annotations

from trialnode.env import env_int

# A synopsis is a PDF of at most this many megabytes.
SYNOPSIS_MAX_MB = env_int("TRIALNODE_FEASIBILITY_SYNOPSIS_MAX_MB", 10)
# An answer link is valid until the reply date, and at most this many days from when it
# was sent; a reminder sends a new one.
LINK_VALID_DAYS = env_int("TRIALNODE_FEASIBILITY_LINK_VALID_DAYS", 30)
# Recipients who have not answered are reminded this many days before the reply date.
REMIND_DAYS_BEFORE = env_int("TRIALNODE_FEASIBILITY_REMIND_DAYS_BEFORE", 3)
# Coordinators are alerted when an inquiry has waited this many days at one stage.
STAGE_ALERT_DAYS = env_int("TRIALNODE_FEASIBILITY_STAGE_ALERT_DAYS", 5)

if SYNOPSIS_MAX_MB < 1 or LINK_VALID_DAYS < 1 or REMIND_DAYS_BEFORE < 0 or STAGE_ALERT_DAYS < 1:
    raise ValueError(
        "TRIALNODE_FEASIBILITY_*: the synopsis size, link days and alert days must be at "
        "least 1, the reminder days at least 0."
    )
