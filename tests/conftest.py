"""Shared fixtures: paths to the read-only data beside the repository.

Tests that need the data skip on a developer machine without it, but fail under CI=true:
a CI run that silently skipped its accuracy checks would prove nothing.
"""

import os
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("DIGITDRAW_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def _required_file(path: Path) -> Path:
    if path.is_file():
        return path
    message = f"test data {path} is missing (set DIGITDRAW_SHARED_DATA to its folder)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    """The full MNIST file in Keras's array layout."""
    return _required_file(SHARED_DATA / "mnist.npz")


@pytest.fixture(scope="session")
def pendigits_path() -> Path:
    """UCI pendigits trajectories of the 30 training writers (UNIPEN)."""
    return _required_file(SHARED_DATA / "pendigits" / "pendigits-orig.tra")


@pytest.fixture(scope="session")
def mnist_test(mnist_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(x_test uint8 (10000, 28, 28), y_test) loaded once per session."""
    with np.load(mnist_path) as data:
        return data["x_test"], data["y_test"]
