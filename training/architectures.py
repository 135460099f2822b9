"""The four digitdraw models and the recipe each is trained with.

Every model reads raw pixels (batch, 28, 28) in 0..255, white on black, scales them with
Rescaling(1/255) inside the graph and ends with a 10-way softmax, so the server feeds it the
preprocessed drawing as is and plain keras.models.load_model needs no custom objects.

- mlp512: the classic two-layer network (Chollet, Deep Learning with Python), about 98%.
- mlp128-64: the small multilayer perceptron of many tutorials, about 97.5%.
- cnn-tutorial: the two-convolution network of the Keras/TensorFlow tutorials, about 99%.
- robust-cnn (the default): a batch-normalised CNN trained with augmentation (training/augment.py)
  so that it also reads drawings, not only MNIST's scans; target 99.5% on MNIST test.
"""

from collections.abc import Callable
from dataclasses import dataclass

import keras
from keras import layers

from training.augment import AugmentConfig

NUM_CLASSES = 10
IMAGE_SIDE = 28
DEFAULT_MODEL = "robust-cnn"

# --- robust-cnn recipe: every knob of the default model in one place ---------------------------
# Unpadded 3x3 convolutions (28→26→24, pool, 12→10→8, pool): half the compute of padded ones
# at the same accuracy, so 12 augmented epochs fit in the 20-minute budget on 2 CPU cores.
ROBUST_FILTERS = (32, 64)  # convolution widths of the two stages
ROBUST_DROPOUT = (0.1, 0.15, 0.3)  # after stage 1, after stage 2, before the classifier
ROBUST_DENSE_UNITS = 256  # width of the hidden dense layer after flattening 4x4x64
# Batch-norm moving averages settle within ~50 steps (Keras's 0.99 needs ~500), so short runs
# give meaningful inference-mode scores too.
ROBUST_BN_MOMENTUM = 0.9
ROBUST_EPOCHS = 12
ROBUST_BATCH_SIZE = 128
ROBUST_PEAK_LEARNING_RATE = 3e-3  # reached after warm-up, then cosine decay to zero
ROBUST_WARMUP_EPOCHS = 1  # linear warm-up from zero keeps early batch-norm statistics sane
ROBUST_WEIGHT_DECAY = 1e-4  # AdamW's decoupled weight decay
ROBUST_LABEL_SMOOTHING = 0.05  # softens over-confident answers on odd drawings
# The last 5,000 of MNIST's 60,000 training digits watch for over-fitting; test stays unseen.
ROBUST_VALIDATION_SPLIT = 5_000 / 60_000
ROBUST_AUGMENTATION = AugmentConfig()
# Each pendigits training-writer digit is seen this many times per epoch (with --pendigits):
# enough to learn pen-drawn shapes (European 1s and 7s), not so much that MNIST suffers.
ROBUST_PENDIGITS_REPEAT = 2
# ... and drawn this many more times on a random browser-like canvas, read through the server's
# image path (training.canvas): the strokes path alone never shows the model a pen digit with
# the page's brush widths and anti-aliasing, which whole numbers sent as images have.
ROBUST_PENDIGITS_CANVASES = 2
# Share of the MNIST training digits added once more as simulated low-resolution scans
# (training.scans; with --pendigits, each training-writer digit too): thick, blurry strokes that
# fill the frame, which the augmentation above never makes.
ROBUST_SCAN_SHARE = 0.2


@dataclass(frozen=True)
class Recipe:
    """A named model: how to build it and how to train it (all recorded in its card)."""

    name: str
    description: str
    architecture: str
    build: Callable[[], keras.Model]
    make_optimizer: Callable[[int, int], keras.optimizers.Optimizer]  # (steps per epoch, epochs)
    optimizer: str
    epochs: int
    batch_size: int
    validation_split: float
    learning_rate_schedule: str | None = None
    augmentation: AugmentConfig | None = None
    label_smoothing: float = 0.0
    pendigits_repeat: int = 1  # copies of each pendigits digit per epoch, with --pendigits
    pendigits_canvases: int = 0  # more copies, each drawn on a canvas, through the image path
    scan_share: float = 0.0  # share of training digits added as simulated scans (training.scans)


def _inputs() -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """Raw 0..255 pixels in, 0..1 inside: the model owns its normalisation."""
    inputs = keras.Input((IMAGE_SIDE, IMAGE_SIDE), name="pixels")
    return inputs, layers.Rescaling(1 / 255, name="rescale")(inputs)


def _classifier(x: keras.KerasTensor) -> keras.KerasTensor:
    return layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)


def build_mlp512(units: int = 512) -> keras.Model:
    """784 → 512 → 10 (another hidden width for class experiments: training/live.py)."""
    inputs, x = _inputs()
    x = layers.Flatten()(x)
    x = layers.Dense(units, activation="relu")(x)
    return keras.Model(inputs, _classifier(x), name=f"mlp{units}")


def build_mlp128_64() -> keras.Model:
    """784 → 128 → 64 → 10."""
    inputs, x = _inputs()
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dense(64, activation="relu")(x)
    return keras.Model(inputs, _classifier(x), name="mlp128-64")


def build_cnn_tutorial(dense_units: int = 128) -> keras.Model:
    """Two convolution + pooling stages, then a dense layer (128 units in the tutorials)."""
    inputs, x = _inputs()
    x = layers.Reshape((IMAGE_SIDE, IMAGE_SIDE, 1))(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(dense_units, activation="relu")(x)
    return keras.Model(inputs, _classifier(x), name="cnn-tutorial")


def _conv_bn_relu(x: keras.KerasTensor, filters: int) -> keras.KerasTensor:
    # No bias: the batch normalisation that follows has its own shift.
    x = layers.Conv2D(filters, 3, use_bias=False)(x)
    x = layers.BatchNormalization(momentum=ROBUST_BN_MOMENTUM)(x)
    return layers.ReLU()(x)


def build_robust_cnn() -> keras.Model:
    """[conv-BN-ReLU]x2, pool, [conv-BN-ReLU]x2, pool, dense-BN-ReLU, all with dropout."""
    first, second = ROBUST_FILTERS
    inputs, x = _inputs()
    x = layers.Reshape((IMAGE_SIDE, IMAGE_SIDE, 1))(x)
    x = _conv_bn_relu(_conv_bn_relu(x, first), first)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Dropout(ROBUST_DROPOUT[0])(x)
    x = _conv_bn_relu(_conv_bn_relu(x, second), second)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Dropout(ROBUST_DROPOUT[1])(x)
    x = layers.Flatten()(x)
    x = layers.Dense(ROBUST_DENSE_UNITS, use_bias=False)(x)
    x = layers.BatchNormalization(momentum=ROBUST_BN_MOMENTUM)(x)
    x = layers.ReLU()(x)
    x = layers.Dropout(ROBUST_DROPOUT[2])(x)
    return keras.Model(inputs, _classifier(x), name="robust-cnn")


def robust_optimizer(steps_per_epoch: int, epochs: int) -> keras.optimizers.Optimizer:
    """AdamW with linear warm-up then cosine decay, stretched over the whole run."""
    total_steps = steps_per_epoch * epochs
    # A one-epoch quick run still decays: warm-up takes at most half of the steps.
    warmup_steps = max(1, min(ROBUST_WARMUP_EPOCHS * steps_per_epoch, total_steps // 2))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        decay_steps=max(1, total_steps - warmup_steps),
        warmup_target=ROBUST_PEAK_LEARNING_RATE,
        warmup_steps=warmup_steps,
    )
    return keras.optimizers.AdamW(learning_rate=schedule, weight_decay=ROBUST_WEIGHT_DECAY)


RECIPES: dict[str, Recipe] = {
    recipe.name: recipe
    for recipe in (
        Recipe(
            name="mlp512",
            description="Two-layer perceptron (512 hidden units): the classic first MNIST model.",
            architecture="Rescaling(1/255) → Flatten → Dense(512, relu) → Dense(10, softmax)",
            build=build_mlp512,
            make_optimizer=lambda steps_per_epoch, epochs: keras.optimizers.RMSprop(),
            optimizer="rmsprop (learning rate 0.001)",
            epochs=5,
            batch_size=128,
            validation_split=0.1,
        ),
        Recipe(
            name="mlp128-64",
            description="Small three-layer perceptron (128 and 64 hidden units).",
            architecture=(
                "Rescaling(1/255) → Flatten → Dense(128, relu) → Dense(64, relu) "
                "→ Dense(10, softmax)"
            ),
            build=build_mlp128_64,
            make_optimizer=lambda steps_per_epoch, epochs: keras.optimizers.Adam(),
            optimizer="adam (learning rate 0.001)",
            epochs=5,
            batch_size=32,
            validation_split=0.2,
        ),
        Recipe(
            name="cnn-tutorial",
            description="The two-convolution network of the Keras and TensorFlow tutorials.",
            architecture=(
                "Rescaling(1/255) → Reshape(28, 28, 1) → Conv2D(32, 3, relu) → MaxPool(2) "
                "→ Conv2D(64, 3, relu) → MaxPool(2) → Flatten → Dense(128, relu) "
                "→ Dense(10, softmax)"
            ),
            build=build_cnn_tutorial,
            make_optimizer=lambda steps_per_epoch, epochs: keras.optimizers.Adam(),
            optimizer="adam (learning rate 0.001)",
            epochs=5,
            batch_size=128,
            validation_split=0.1,
        ),
        Recipe(
            name="robust-cnn",
            description=(
                "Batch-normalised CNN trained with rotation, scale, shear, elastic and "
                "stroke-width augmentation so that it reads drawn digits, not only MNIST."
            ),
            architecture=(
                f"Rescaling(1/255) → Reshape(28, 28, 1) → [Conv2D({ROBUST_FILTERS[0]}, 3, valid) "
                f"→ BN → ReLU]x2 → MaxPool(2) → Dropout({ROBUST_DROPOUT[0]}) "
                f"→ [Conv2D({ROBUST_FILTERS[1]}, 3, valid) → BN → ReLU]x2 → MaxPool(2) "
                f"→ Dropout({ROBUST_DROPOUT[1]}) → Flatten → Dense({ROBUST_DENSE_UNITS}) → BN "
                f"→ ReLU → Dropout({ROBUST_DROPOUT[2]}) → Dense(10, softmax)"
            ),
            build=build_robust_cnn,
            make_optimizer=robust_optimizer,
            optimizer=f"adamw (weight decay {ROBUST_WEIGHT_DECAY:g})",
            epochs=ROBUST_EPOCHS,
            batch_size=ROBUST_BATCH_SIZE,
            validation_split=ROBUST_VALIDATION_SPLIT,
            learning_rate_schedule=(
                f"linear warm-up from 0 to {ROBUST_PEAK_LEARNING_RATE:g} over "
                f"{ROBUST_WARMUP_EPOCHS} epoch(s), then cosine decay to 0 by the last step"
            ),
            augmentation=ROBUST_AUGMENTATION,
            label_smoothing=ROBUST_LABEL_SMOOTHING,
            pendigits_repeat=ROBUST_PENDIGITS_REPEAT,
            pendigits_canvases=ROBUST_PENDIGITS_CANVASES,
            scan_share=ROBUST_SCAN_SHARE,
        ),
    )
}


def get_recipe(name: str) -> Recipe:
    """The recipe called `name`; ValueError listing the known names otherwise."""
    if name not in RECIPES:
        raise ValueError(f"Unknown model {name!r}. Choose one of: {', '.join(RECIPES)}.")
    return RECIPES[name]
