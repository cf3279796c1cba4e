"""Services over the sample articles, shared by the rag tests."""

from __future__ import annotations

import pytest

from rag.service import Kabar
from rag.settings import Settings


@pytest.fixture(scope="session")
def e5_service(e5_seed_settings: Settings) -> Kabar:
    """The sample articles answered with the real multilingual e5 model."""
    return Kabar(e5_seed_settings)
