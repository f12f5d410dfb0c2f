"""Settings for the test suite: the project's own settings with a fixed test key."""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-used-only-by-the-test-suite")
# Playwright's sync API runs an event loop in the test thread; plain database access from
# that thread stays allowed.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from trialnode.settings import *  # noqa: F403
