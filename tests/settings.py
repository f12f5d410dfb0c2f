"""Settings for the test suite: the project's own settings with a fixed test key."""

import os

from trialnode.i18n import compile_messages

os.environ.setdefault("SECRET_KEY", "test-secret-key-used-only-by-the-test-suite")
# Playwright's sync API runs an event loop in the test thread; plain database access from
# that thread stays allowed.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Before Django loads any catalogue: a fresh checkout has only the .po files.
compile_messages()

from trialnode.settings import *  # noqa: E402, F403

# Tests that are about the second factor switch it on themselves.
REQUIRE_SECOND_FACTOR = False

# Jobs run as soon as they are queued (at commit), inside the test.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
