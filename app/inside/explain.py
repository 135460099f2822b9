"""What /explain and the weights endpoint answer: layers, saliency and weights of a served model.

Each model's NumPy twin is read from the folder's ``model.keras`` on first use and kept while the
file stays the same (size and modification time), so a retrained model is picked up without an
export step or a restart of this cache. The file must be the one the card vouches for, else the
look inside would show another network than the one answering /predict.
"""

import base64
import threading
from pathlib import Path
from typing import Any, Literal

import numpy as np
from threadpoolctl import threadpool_limits

from app.errors import InputError
from app.inference import Model, card_value, file_sha256
from app.inside.numpy_net import Network, UnsupportedModel, load_keras

KERAS_FILE = "model.keras"
SALIENCY_METHOD = "gradient"


class NotExplainable(InputError):
    """The model has no readable Keras file matching its card, or a layer we cannot replay."""

    code = "not_explainable"
    status = 409


class UnknownLayer(InputError):
    """The weights request names a layer the model does not have."""

    code = "unknown_layer"
    status = 404


_cache: dict[Path, tuple[tuple[int, int], Network]] = {}
_cache_lock = threading.Lock()
_blas_limited = False


def one_blas_thread() -> None:
    """Keep NumPy's matrix products on the calling thread, for the whole server process.

    The matrices here are small (576 x 288 at most): OpenBLAS's thread pool gains nothing, and on
    a loaded 2-core machine its spinning threads made one robust-cnn pass take 450 ms instead of
    10 (measured). Parallelism comes from requests and worker processes, as for LiteRT.
    """
    global _blas_limited
    if not _blas_limited:
        threadpool_limits(limits=1, user_api="blas")
        _blas_limited = True


def model_folder(model: Model) -> Path:
    folder = getattr(model, "folder", None)
    if folder is None:
        raise NotExplainable(f"The server does not know where model {model.name} is stored.")
    return Path(folder)


def network_for(model: Model) -> Network:
    """The NumPy network of a served model, loaded (and checked) once per file version."""
    path = model_folder(model) / KERAS_FILE
    try:
        stat = path.stat()
    except OSError as error:
        raise NotExplainable(
            f"Model {model.name} has no {KERAS_FILE} beside its .tflite file, so its layers "
            "cannot be shown; retrain it with python -m training train."
        ) from error
    stamp = (stat.st_size, stat.st_mtime_ns)
    with _cache_lock:
        one_blas_thread()
        cached = _cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        expected = card_value(model.card, "files", KERAS_FILE, "sha256")
        if isinstance(expected, str) and file_sha256(path) != expected:
            raise NotExplainable(
                f"{path} is not the file model {model.name}'s card describes; retrain the model."
            )
        try:
            network = load_keras(path)
        except (UnsupportedModel, OSError, KeyError, ValueError) as error:
            raise NotExplainable(f"Model {model.name} cannot be looked inside: {error}.") from error
        _cache[path] = (stamp, network)
        return network


Encoding = Literal["lists", "base64"]


def explain_image(
    network: Network, image: np.ndarray, target: int, encoding: Encoding = "lists"
) -> dict[str, Any]:
    """Layers and saliency for one 28x28 [0, 1] image; arrays stay NumPy for orjson.

    With encoding "base64", each layer's values travel as `activations_base64` (float32,
    little-endian, C order) instead of nested lists: a tenth of the time to write and to read.
    """
    raw = (image * np.float32(255.0))[np.newaxis].astype(np.float32)
    trace = network.forward(raw)
    saliency = network.saliency(trace, np.array([target]))[0]
    layers = [layer_entry(network.input_name, "InputLayer", raw[0], encoding)]
    layers += [
        layer_entry(layer.name, layer.kind, output[0], encoding)
        for layer, output in zip(network.layers, trace.outputs, strict=True)
    ]
    return {
        "layers": layers,
        "first_layer": first_layer_contributions(network, trace),
        "saliency": {
            "method": SALIENCY_METHOD,
            "target": target,
            "values": np.ascontiguousarray(saliency),
        },
    }


def first_layer_contributions(network: Network, trace: Any) -> dict[str, Any] | None:
    """Each unit (or filter) of the first weighted layer: activation x d p[target] / d activation,
    summed over positions: how much it pushed towards the explained digit (gradient x input)."""
    index = next(
        (i for i, layer in enumerate(network.layers) if layer.kind in ("Dense", "Conv2D")), None
    )
    if index is None or index not in trace.gradients:
        return None
    product = trace.outputs[index][0] * trace.gradients[index][0]
    per_unit = product.reshape(-1, product.shape[-1]).sum(axis=0)
    return {"name": network.layers[index].name, "contributions": per_unit.astype(np.float32)}


def layer_entry(
    name: str, kind: str, output: np.ndarray, encoding: Encoding = "lists"
) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "kind": kind, "shape": list(output.shape)}
    values = np.ascontiguousarray(output, dtype="<f4")
    if encoding == "base64":
        entry["activations_base64"] = base64.b64encode(values.tobytes()).decode("ascii")
    else:
        entry["activations"] = values
    return entry


def layer_weights(model: Model, layer_name: str) -> dict[str, Any]:
    """A layer's variables by Keras name (kernel, bias, gamma...) in the Keras layout."""
    network = network_for(model)
    variables = network.variables.get(layer_name)
    if variables is None:
        names = ", ".join(network.variables)
        raise UnknownLayer(f"Model {model.name} has no layer {layer_name!r}. Layers: {names}.")
    kind = network.by_name[layer_name].kind if layer_name in network.by_name else "InputLayer"
    return {
        "model": model.name,
        "layer": layer_name,
        "kind": kind,
        "weights": {
            name: {"shape": list(array.shape), "values": np.ascontiguousarray(array)}
            for name, array in variables.items()
        },
    }
