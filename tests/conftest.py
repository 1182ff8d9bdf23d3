"""Fixtures every test may use: a client of the app, and settings changed for one test.

Tests measure inline (in this process) so that they can watch the measuring queue from inside;
tests/test_measuring_process.py runs the real measuring process.
"""

import os
import tempfile
from contextlib import ExitStack

os.environ.setdefault("BLOCKSCOPE_MEASURER", "inline")
# a runtime folder of this session's own: nothing kept by an earlier run (last measurements) shows
os.environ.setdefault("BLOCKSCOPE_RUNTIME_DIR", tempfile.mkdtemp(prefix="blockscope-tests-"))

import pytest
from fastapi.testclient import TestClient

from blockscope.cache import clear_all
from blockscope.config import Settings, use_settings
from blockscope.main import app, create_app


@pytest.fixture(scope="session")
def client() -> TestClient:
    return TestClient(app)


@pytest.fixture
def configure():
    """`configure(**changes)` changes settings until the test ends, and returns a client of an app
    built under them (per-kind routes document the bounds in force). Caches are emptied before and
    after, so no answer computed under other settings is served."""
    with ExitStack() as stack:
        def apply(**changes) -> TestClient:
            clear_all()
            settings: Settings = stack.enter_context(use_settings(**changes))
            assert all(getattr(settings, k) == v for k, v in changes.items())
            return TestClient(create_app())
        yield apply
        stack.close()
        clear_all()
