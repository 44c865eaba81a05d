"""Shared fixtures for the flow engine tests: the shipped flows, loaded once."""

from __future__ import annotations

import pytest
from flows_helpers import SHIPPED

from flows import Flow, load_flow


@pytest.fixture(scope="session")
def screening() -> Flow:
    """The shipped screening flow, loaded once."""
    return load_flow(SHIPPED / "screening.yaml")


@pytest.fixture(scope="session")
def witness() -> Flow:
    """The shipped witness flow, loaded once."""
    return load_flow(SHIPPED / "witness.yaml")


@pytest.fixture(scope="session")
def screening_text() -> str:
    """The YAML text of the shipped screening flow."""
    return (SHIPPED / "screening.yaml").read_text(encoding="utf-8")
