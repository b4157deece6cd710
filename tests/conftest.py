"""Shared fixtures: where the real data lives, and a skip when it is absent."""
import os
from pathlib import Path

import pytest


def data_dir() -> Path | None:
    """The folder named by MINIGAN_DATA, if it is set and exists."""
    value = os.environ.get("MINIGAN_DATA")
    if value and Path(value).is_dir():
        return Path(value)
    return None


@pytest.fixture
def real_data():
    """Path of a real data file by name; skips the test with a reason when it is absent."""

    def find(filename: str) -> Path:
        root = data_dir()
        if root is None:
            pytest.skip("real data absent: set MINIGAN_DATA to the folder holding the .npz files")
        path = root / filename
        if not path.is_file():
            pytest.skip(f"real data absent: {filename} is not in MINIGAN_DATA={root}")
        return path

    return find
