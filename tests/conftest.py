"""Every test's garbage is collected at its own teardown.

Objects in reference cycles (an asyncio transport and its protocol, a stream writer) are freed by a garbage
collection, whenever one runs: an unclosed socket left by one test was reported ("unclosed transport", pytest's
unraisable-exception warnings) in whichever later test the collector happened to run, on a loaded CI machine
twice in one run. Collecting after each test's fixtures are torn down puts the report on the test that leaked.
"""

from __future__ import annotations

import gc

import pytest


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    gc.collect()
