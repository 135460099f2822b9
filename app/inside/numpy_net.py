"""The committed Keras models run forward and backward in NumPy: activations and saliency.

LiteRT answers /predict, but it cannot differentiate (its gradient ops need the Flex delegate),
and the server must not import TensorFlow. The models are small sequential stacks of a few layer
kinds, so this module reads them straight from their ``model.keras`` file (a zip of config.json
and model.weights.h5) and replays them: a retrained model needs no export step.

Arithmetic follows TensorFlow's where it matters for matching it: float32 throughout, batch
normalisation as ``x * inv + (beta - mean * inv)``, and max-pooling sending the gradient to the
first maximum of a window. The one deliberate difference is the softmax gradient: TensorFlow
computes ``(onehot - p) * p`` in float32, where ``1 - p_t`` is pure rounding noise once the model
is sure (p_t = 0.9999999); here it is ``sum of the other p`` in float64, the true value.
"""

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
DTYPE = np.float32
SUPPORTED_ACTIVATIONS = ("linear", "relu", "softmax")


class UnsupportedModel(ValueError):
    """A Keras file holding a layer kind or option this module does not replay."""


@dataclass
class Layer:
    """One Keras layer: forward keeps what backward needs; backward maps d out -> d in."""

    name: str
    kind: str
    weights: list[np.ndarray] = field(default_factory=list)

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        return x, None

    def backward(self, grad: np.ndarray, cache: Any) -> np.ndarray:
        return grad


def activation_of(config: dict[str, Any], name: str) -> str:
    activation = config.get("activation", "linear")
    if activation not in SUPPORTED_ACTIVATIONS:
        raise UnsupportedModel(f"layer {name}: activation {activation!r} is not supported")
    return str(activation)


def activate(z: np.ndarray, activation: str) -> np.ndarray:
    if activation == "relu":
        return np.maximum(z, 0)
    if activation == "softmax":
        shifted = np.exp(z - z.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)
    return z


@dataclass
class Rescaling(Layer):
    scale: float = 1.0
    offset: float = 0.0

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        return (x * DTYPE(self.scale) + DTYPE(self.offset)).astype(DTYPE), None

    def backward(self, grad: np.ndarray, cache: Any) -> np.ndarray:
        return grad * DTYPE(self.scale)


@dataclass
class Reshape(Layer):
    target: tuple[int, ...] = ()

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        return x.reshape(len(x), *self.target), x.shape

    def backward(self, grad: np.ndarray, cache: Any) -> np.ndarray:
        return grad.reshape(cache)


@dataclass
class Flatten(Reshape):
    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        return x.reshape(len(x), -1), x.shape


@dataclass
class Activation(Layer):
    """ReLU and Activation layers; softmax only as the last layer (see Network.saliency)."""

    activation: str = "relu"

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        y = activate(x, self.activation)
        return y, (x, y)

    def backward(self, grad: np.ndarray, cache: Any) -> np.ndarray:
        x, _ = cache
        if self.activation == "relu":
            return grad * (x > 0)  # TensorFlow's ReluGrad: nothing flows where x <= 0
        if self.activation == "linear":
            return grad
        raise UnsupportedModel(f"layer {self.name}: softmax is differentiated by the network")


@dataclass
class Dense(Layer):
    activation: str = "linear"

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        z = x @ self.weights[0]
        if len(self.weights) > 1:
            z = z + self.weights[1]
        return activate(z, self.activation), z

    def backward(self, grad: np.ndarray, cache: Any) -> np.ndarray:
        if self.activation == "relu":
            grad = grad * (cache > 0)
        return grad @ self.weights[0].T


@dataclass
class Conv2D(Layer):
    """Stride 1, 'valid' or 'same', channels last; an im2col matrix product."""

    activation: str = "linear"
    padding: str = "valid"

    def pad(self, x: np.ndarray) -> np.ndarray:
        if self.padding == "valid":
            return x
        kh, kw = self.weights[0].shape[:2]
        return np.pad(x, ((0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2), (0, 0)))

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        kernel = self.weights[0]
        kh, kw, channels, filters = kernel.shape
        padded = self.pad(x)
        # Windows (N, Ho, Wo, C, kh, kw), matched by the kernel reordered to (C, kh, kw, F).
        windows = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(1, 2))
        n, out_h, out_w = windows.shape[:3]
        columns = windows.reshape(n * out_h * out_w, channels * kh * kw)
        matrix = kernel.transpose(2, 0, 1, 3).reshape(channels * kh * kw, filters)
        z = (columns @ matrix).reshape(n, out_h, out_w, filters)
        if len(self.weights) > 1:
            z = z + self.weights[1]
        return activate(z, self.activation), (z, padded.shape, matrix)

    def backward(self, grad: np.ndarray, cache: Any) -> np.ndarray:
        z, padded_shape, matrix = cache
        if self.activation == "relu":
            grad = grad * (z > 0)
        kh, kw, channels, _ = self.weights[0].shape
        n, out_h, out_w, filters = grad.shape
        columns = (grad.reshape(-1, filters) @ matrix.T).reshape(n, out_h, out_w, channels, kh, kw)
        dx = np.zeros(padded_shape, dtype=grad.dtype)
        for i in range(kh):
            for j in range(kw):
                dx[:, i : i + out_h, j : j + out_w, :] += columns[..., i, j]
        if self.padding == "same":
            top, left = (kh - 1) // 2, (kw - 1) // 2
            dx = dx[:, top : top + padded_shape[1] - kh + 1, left : left + padded_shape[2] - kw + 1]
        return dx


@dataclass
class BatchNormalization(Layer):
    """Inference mode over the last axis: moving mean and variance, as Keras predicts."""

    epsilon: float = 1e-3

    def __post_init__(self) -> None:
        gamma, beta, mean, variance = self.weights
        self.inv = (1 / np.sqrt(variance + DTYPE(self.epsilon))).astype(DTYPE) * gamma
        self.shift = (beta - mean * self.inv).astype(DTYPE)

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        return x * self.inv + self.shift, None

    def backward(self, grad: np.ndarray, cache: Any) -> np.ndarray:
        return grad * self.inv


@dataclass
class MaxPooling2D(Layer):
    """Pool size = strides, 'valid': the windows tile the map, the ragged edge is dropped."""

    pool: tuple[int, int] = (2, 2)

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        ph, pw = self.pool
        n, height, width, channels = x.shape
        out_h, out_w = height // ph, width // pw
        tiles = x[:, : out_h * ph, : out_w * pw].reshape(n, out_h, ph, out_w, pw, channels)
        # Window cells in row-major order, so argmax picks the first maximum as TensorFlow does.
        cells = tiles.transpose(0, 1, 3, 5, 2, 4).reshape(n, out_h, out_w, channels, ph * pw)
        first = cells.argmax(axis=-1)
        y = np.take_along_axis(cells, first[..., np.newaxis], axis=-1)[..., 0]
        return y, (first, x.shape)

    def backward(self, grad: np.ndarray, cache: Any) -> np.ndarray:
        first, shape = cache
        ph, pw = self.pool
        n, out_h, out_w, channels = grad.shape
        cells = np.zeros((n, out_h, out_w, channels, ph * pw), dtype=grad.dtype)
        np.put_along_axis(cells, first[..., np.newaxis], grad[..., np.newaxis], axis=-1)
        tiles = cells.reshape(n, out_h, out_w, channels, ph, pw).transpose(0, 1, 4, 2, 5, 3)
        dx = np.zeros(shape, dtype=grad.dtype)
        dx[:, : out_h * ph, : out_w * pw] = tiles.reshape(n, out_h * ph, out_w * pw, channels)
        return dx


@dataclass
class Trace:
    """One forward pass: every layer's output and what its backward step needs."""

    outputs: list[np.ndarray]
    caches: list[Any]
    # d p[target] / d output of each layer but the last, by layer index, once saliency() ran.
    gradients: dict[int, np.ndarray] = field(default_factory=dict)


class Network:
    """A sequential Keras model replayed in NumPy; input (N, 28, 28) in 0..255 like LiteRT's."""

    def __init__(
        self,
        name: str,
        layers: list[Layer],
        variables: dict[str, dict[str, np.ndarray]] | None = None,
        input_name: str = "input",
    ) -> None:
        last = layers[-1] if layers else None
        if not (isinstance(last, Dense) and last.activation == "softmax"):
            raise UnsupportedModel(f"{name}: the last layer must be a Dense softmax")
        self.name = name
        self.layers = layers
        self.by_name = {layer.name: layer for layer in layers}
        # As stored in the .keras file, by layer and Keras variable name (kernel, bias, gamma...).
        self.variables = variables or {}
        self.input_name = input_name

    def forward(self, images: np.ndarray) -> Trace:
        x = np.ascontiguousarray(images, dtype=DTYPE)
        outputs, caches = [], []
        for layer in self.layers:
            x, cache = layer.forward(x)
            outputs.append(x)
            caches.append(cache)
        return Trace(outputs, caches)

    def saliency(self, trace: Trace, targets: np.ndarray) -> np.ndarray:
        """d p[target] / d image for each image of the trace, images in [0, 1] (N, 28, 28).

        The softmax step is done here in float64 from the float32 logits: p_t * (onehot - p),
        with 1 - p_t taken as the sum of the other probabilities, exact even when p_t rounds to 1.
        """
        logits = trace.caches[-1].astype(np.float64)
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        p = shifted / shifted.sum(axis=1, keepdims=True)
        rows = np.arange(len(p))
        p_target = p[rows, targets]
        grad_logits = -p_target[:, np.newaxis] * p
        others = p.sum(axis=1) - p_target  # accurate: no 1 - p_t cancellation
        grad_logits[rows, targets] = p_target * others
        grad = self.dense_backward(self.layers[-1], grad_logits.astype(DTYPE))
        for index in range(len(self.layers) - 2, -1, -1):
            trace.gradients[index] = grad
            grad = self.layers[index].backward(grad, trace.caches[index])
        # The model reads 0..255; the picture it sees is [0, 1]: one more chain-rule factor.
        return grad.reshape(len(grad), 28, 28) * DTYPE(255.0)

    @staticmethod
    def dense_backward(layer: Layer, grad_logits: np.ndarray) -> np.ndarray:
        return grad_logits @ layer.weights[0].T


def read_weights(weights: h5py.File) -> dict[str, list[np.ndarray]]:
    """Variables by layer name: the h5 groups are named by class, the 'name' attribute by layer."""
    by_layer: dict[str, list[np.ndarray]] = {}
    for group in weights["layers"].values():
        variables = group.get("vars")
        if variables is None:
            continue
        name = str(variables.attrs.get("name", ""))
        keys = sorted(variables, key=int)
        by_layer[name] = [np.asarray(variables[key], dtype=DTYPE) for key in keys]
    return by_layer


def layer_from_config(kind: str, config: dict[str, Any], weights: list[np.ndarray]) -> Layer | None:
    """The NumPy layer for one Keras layer config; None for the input layer."""
    name = config["name"]
    if kind == "InputLayer":
        return None
    if kind == "Rescaling":
        return Rescaling(name, kind, [], float(config["scale"]), float(config["offset"]))
    if kind == "Reshape":
        return Reshape(name, kind, [], tuple(config["target_shape"]))
    if kind == "Flatten":
        return Flatten(name, kind, [], ())
    if kind == "Dropout":
        return Layer(name, kind)
    if kind == "ReLU":
        defaults = {"max_value": None, "negative_slope": 0.0, "threshold": 0.0}
        if any(config.get(key, value) not in (value,) for key, value in defaults.items()):
            raise UnsupportedModel(f"layer {name}: only a plain ReLU is supported")
        return Activation(name, kind, [], "relu")
    if kind == "Activation":
        return Activation(name, kind, [], activation_of(config, name))
    if kind == "Dense":
        return Dense(name, kind, weights, activation_of(config, name))
    if kind == "Conv2D":
        plain = (
            list(config.get("strides", [1, 1])) == [1, 1]
            and list(config.get("dilation_rate", [1, 1])) == [1, 1]
            and config.get("groups", 1) == 1
            and config.get("data_format", "channels_last") == "channels_last"
            and config.get("padding") in ("valid", "same")
        )
        if not plain:
            raise UnsupportedModel(f"layer {name}: only stride-1 channels-last Conv2D")
        return Conv2D(name, kind, weights, activation_of(config, name), config["padding"])
    if kind == "BatchNormalization":
        return batch_normalization(name, config, weights)
    if kind == "MaxPooling2D":
        pool = tuple(config["pool_size"])
        strides = tuple(config.get("strides") or pool)
        if strides != pool or config.get("padding") != "valid":
            raise UnsupportedModel(f"layer {name}: only valid pooling with strides = pool size")
        return MaxPooling2D(name, kind, [], (int(pool[0]), int(pool[1])))
    raise UnsupportedModel(f"layer {name}: {kind} is not supported")


def batch_normalization(name: str, config: dict[str, Any], weights: list[np.ndarray]) -> Layer:
    """Keras stores gamma and beta only when scale and center are on: fill the missing ones."""
    if config.get("axis", -1) not in (-1, [-1]):
        raise UnsupportedModel(f"layer {name}: batch normalisation over the last axis only")
    stored = list(weights)
    size = stored[-1].shape[0]
    gamma = stored.pop(0) if config.get("scale", True) else np.ones(size, DTYPE)
    beta = stored.pop(0) if config.get("center", True) else np.zeros(size, DTYPE)
    mean, variance = stored
    return BatchNormalization(
        name, "BatchNormalization", [gamma, beta, mean, variance], float(config["epsilon"])
    )


def load_keras(path: Path) -> Network:
    """The Network stored in a .keras file; UnsupportedModel for layers it cannot replay."""
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read(CONFIG_FILE))
        with h5py.File(io.BytesIO(archive.read(WEIGHTS_FILE)), "r") as weights:
            variables = read_weights(weights)
    layers, named, input_name = [], {}, "input"
    for entry in config["config"]["layers"]:
        kind, layer_config = entry["class_name"], entry["config"]
        stored = variables.get(layer_config["name"], [])
        layer = layer_from_config(kind, layer_config, stored)
        if layer is not None:
            layers.append(layer)
        else:
            input_name = layer_config["name"]
        names = variable_names(kind, layer_config)
        named[layer_config["name"]] = dict(zip(names, stored, strict=False))
    name = str(config["config"].get("name", path.parent.name))
    return Network(name, layers, named, input_name)


def variable_names(kind: str, config: dict[str, Any]) -> list[str]:
    """Keras's names for a layer's variables, in the order the weights file stores them."""
    if kind in ("Dense", "Conv2D"):
        return ["kernel", "bias"]
    if kind == "BatchNormalization":
        names = ["gamma"] if config.get("scale", True) else []
        names += ["beta"] if config.get("center", True) else []
        return [*names, "moving_mean", "moving_variance"]
    return []
