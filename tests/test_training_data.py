"""training.data: a good MNIST file loads; every malformed one fails with a message that helps."""

from pathlib import Path

import numpy as np
import pytest

from training.__main__ import main
from training.data import DatasetError, file_sha256, load_mnist, resolve_data_path

LAYOUT = (
    "Expected Keras's layout: x_train and x_test uint8 (N, 28, 28), y_train and y_test (N,) "
    "integer labels 0-9. Download it with keras.datasets.mnist.load_data() or pass "
    "--data path/to/mnist.npz."
)


def good_arrays() -> dict[str, np.ndarray]:
    """A tiny MNIST-shaped data set: 20 training and 10 test digits."""
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "y_train": np.arange(20, dtype=np.uint8) % 10,
        "x_test": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        "y_test": np.arange(10, dtype=np.uint8),
    }


def write_npz(folder: Path, **changes: np.ndarray | None) -> Path:
    """mnist.npz with some arrays replaced (or left out when the change is None)."""
    arrays = {**good_arrays(), **changes}
    path = folder / "mnist.npz"
    np.savez(path, **{key: value for key, value in arrays.items() if value is not None})
    return path


def test_load_mnist_reads_a_keras_layout_file_and_hashes_it(tmp_path: Path) -> None:
    path = write_npz(tmp_path)
    mnist = load_mnist(path)
    assert mnist.x_train.shape == (20, 28, 28) and mnist.x_train.dtype == np.uint8
    assert mnist.x_test.shape == (10, 28, 28)
    assert mnist.y_train.tolist() == [i % 10 for i in range(20)]
    assert mnist.y_test.tolist() == list(range(10))
    assert mnist.path == path
    assert mnist.sha256 == file_sha256(path) and len(mnist.sha256) == 64


def test_load_mnist_reports_a_missing_file_and_how_to_get_mnist(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.npz"
    with pytest.raises(DatasetError) as error:
        load_mnist(path)
    assert str(error.value) == (
        f"{path}: file not found. Download it with keras.datasets.mnist.load_data() "
        "or pass --data path/to/mnist.npz."
    )


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"y_test": None}, "missing key 'y_test'"),
        ({"x_train": None}, "missing key 'x_train'"),
        (
            {"x_train": np.zeros((20, 32, 32), np.uint8)},
            "x_train has shape (20, 32, 32), not (N, 28, 28)",
        ),
        ({"x_test": np.zeros((10, 784), np.uint8)}, "x_test has shape (10, 784), not (N, 28, 28)"),
        (
            {"x_train": np.zeros((20, 28, 28), np.float32)},
            "x_train has dtype float32, not uint8",
        ),
        ({"y_train": np.zeros((20, 10), np.uint8)}, "y_train has shape (20, 10), not (N,)"),
        (
            {"y_test": np.zeros(10, np.float64)},
            "y_test has dtype float64, not an integer type",
        ),
        (
            {"y_train": np.zeros(19, np.uint8)},
            "y_train has 19 labels but x_train has 20 images",
        ),
        (
            {"y_test": np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 10], np.int64)},
            "y_test holds labels outside 0-9 (0 to 10)",
        ),
        (
            {"y_train": np.full(20, -1, np.int64)},
            "y_train holds labels outside 0-9 (-1 to -1)",
        ),
    ],
)
def test_load_mnist_names_what_is_wrong_with_a_malformed_file(
    tmp_path: Path, changes: dict, problem: str
) -> None:
    path = write_npz(tmp_path, **changes)
    with pytest.raises(DatasetError) as error:
        load_mnist(path)
    assert str(error.value) == f"mnist.npz: {problem}. {LAYOUT}"


def test_load_mnist_rejects_a_file_that_is_not_an_npz(tmp_path: Path) -> None:
    path = tmp_path / "mnist.npz"
    path.write_bytes(b"not a zip archive at all")
    with pytest.raises(DatasetError) as error:
        load_mnist(path)
    assert str(error.value) == f"mnist.npz: not a readable .npz file. {LAYOUT}"


def test_resolve_data_path_prefers_the_option_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGITDRAW_MNIST", str(tmp_path / "from-env.npz"))
    assert resolve_data_path(tmp_path / "given.npz") == tmp_path / "given.npz"
    assert resolve_data_path(None) == tmp_path / "from-env.npz"


def test_resolve_data_path_falls_back_to_the_keras_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DIGITDRAW_MNIST", raising=False)
    monkeypatch.setattr("training.data.download_mnist", lambda: tmp_path / "cached.npz")
    assert resolve_data_path(None) == tmp_path / "cached.npz"


def test_cli_prints_the_data_error_without_traceback_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_npz(tmp_path, y_test=None)
    status = main(["train", "--model", "mlp512", "--data", str(path), "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err == f"error: mnist.npz: missing key 'y_test'. {LAYOUT}\n"
    assert "Traceback" not in captured.out + captured.err
    assert not (tmp_path / "mlp512").exists()
