"""On-the-fly augmentation that makes MNIST look more like digits drawn on a screen.

People draw slanted, rotated, larger or smaller, thinner or bolder and wobblier digits than
MNIST's scanned forms. Each training image gets one random affine map (rotation, scale, shear,
translation) plus a smooth elastic warp, applied in a single bilinear resampling so it is blurred
only once, and sometimes a thinner or thicker stroke. Everything is vectorised over a batch with
plain TensorFlow ops inside a tf.data pipeline; random numbers are stateless and derived from
the seed, so a run is repeatable. Digits stay roughly MNIST-centred (small translation only),
because the server centres drawings by mass just like MNIST.

To look at the result: python -m training preview --data path/to/mnist.npz --out grid.png
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image

IMAGE_SIDE = 28
# MNIST's digit sits at the middle of the field; rotate, scale and shear around it.
CENTRE = (IMAGE_SIDE - 1) / 2


@dataclass(frozen=True)
class AugmentConfig:
    """The augmentation knobs; the defaults are the robust-cnn recipe."""

    rotation_degrees: float = 12.0  # uniform in ±this; people rarely tilt a digit further
    scale_range: tuple[float, float] = (0.85, 1.1)  # wider squeezes thick 1s into 8s
    shear: float = 0.25  # horizontal shear (slant) factor, uniform in ±this
    translation_pixels: float = 2.0  # uniform in ±this; the server re-centres drawings
    elastic_grid: int = 4  # coarse displacement grid (grid x grid), upsampled to 28x28
    elastic_pixels: float = 0.7  # standard deviation of each coarse displacement, in pixels
    thicken_probability: float = 0.3  # share of images drawn with a bolder pen
    thin_probability: float = 0.2  # share of images drawn with a finer pen


NO_AUGMENTATION = AugmentConfig(
    rotation_degrees=0.0,
    scale_range=(1.0, 1.0),
    shear=0.0,
    translation_pixels=0.0,
    elastic_pixels=0.0,
    thicken_probability=0.0,
    thin_probability=0.0,
)


def describe(config: AugmentConfig) -> str:
    """One line for the model card."""
    return (
        f"per image, on the fly: rotation ±{config.rotation_degrees:g}°, "
        f"scale {config.scale_range[0]:g}-{config.scale_range[1]:g}, shear ±{config.shear:g}, "
        f"translation ±{config.translation_pixels:g} px, elastic warp "
        f"({config.elastic_grid}x{config.elastic_grid} random vectors, σ "
        f"{config.elastic_pixels:g} px, upsampled bilinearly), one bilinear resampling; "
        f"thicker stroke {config.thicken_probability:.0%} / thinner {config.thin_probability:.0%} "
        "(part of a plus-shaped 3x3 dilation / erosion)"
    )


def _cross_filter(images: tf.Tensor, reduce: str) -> tf.Tensor:
    """Max (dilation) or min (erosion) over each pixel and its four neighbours."""
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1]])
    neighbours = tf.stack(
        [
            padded[:, 1:-1, 1:-1],
            padded[:, :-2, 1:-1],
            padded[:, 2:, 1:-1],
            padded[:, 1:-1, :-2],
            padded[:, 1:-1, 2:],
        ]
    )
    return tf.reduce_max(neighbours, axis=0) if reduce == "max" else tf.reduce_min(neighbours, 0)


def vary_stroke_width(images: tf.Tensor, seed: tf.Tensor, config: AugmentConfig) -> tf.Tensor:
    """Thicken or thin some strokes by part of one cross-shaped step (a whole step is harsh)."""
    batch = tf.shape(images)[0]
    seeds = tf.random.experimental.stateless_split(seed, num=2)
    choice = tf.random.stateless_uniform([batch, 1, 1], seeds[0])
    strength = tf.random.stateless_uniform([batch, 1, 1], seeds[1], minval=0.4, maxval=1.0)
    thick = images + strength * (_cross_filter(images, "max") - images)
    thin = images + strength * (_cross_filter(images, "min") - images)
    thin_limit = config.thicken_probability + config.thin_probability
    return tf.where(
        choice < config.thicken_probability,
        thick,
        tf.where(choice < thin_limit, thin, images),
    )


def _uniform(shape: tf.Tensor, seed: tf.Tensor, low: float, high: float) -> tf.Tensor:
    return tf.random.stateless_uniform(shape, seed, minval=low, maxval=high)


def source_coordinates(batch: tf.Tensor, seed: tf.Tensor, config: AugmentConfig) -> tf.Tensor:
    """For every output pixel, where to read the input: (batch, 28, 28, 2) as (x, y).

    The forward map is rotation · shear · scale around the centre, then a translation; sampling
    needs its inverse. The elastic field is added in input coordinates.
    """
    seeds = tf.random.experimental.stateless_split(seed, num=5)
    angle = _uniform([batch], seeds[0], -1.0, 1.0) * np.deg2rad(config.rotation_degrees)
    scale = _uniform([batch], seeds[1], *config.scale_range)
    shear = _uniform([batch], seeds[2], -config.shear, config.shear)
    shift = _uniform([batch, 2], seeds[3], -1.0, 1.0) * config.translation_pixels
    cos, sin = tf.cos(angle), tf.sin(angle)
    # forward = [[a, b], [c, d]] = rotation @ [[1, shear], [0, 1]] @ scale
    a, b = cos * scale, (cos * shear - sin) * scale
    c, d = sin * scale, (sin * shear + cos) * scale
    determinant = a * d - b * c
    inverse = tf.reshape(tf.stack([d, -b, -c, a], axis=1) / determinant[:, None], [-1, 1, 1, 2, 2])

    axis = tf.range(IMAGE_SIDE, dtype=tf.float32)
    grid_y, grid_x = tf.meshgrid(axis, axis, indexing="ij")
    output = tf.stack([grid_x, grid_y], axis=-1)[None] - CENTRE - shift[:, None, None, :]
    source = tf.squeeze(inverse @ output[..., None], -1) + CENTRE

    grid = config.elastic_grid
    coarse = tf.random.stateless_normal([batch, grid, grid, 2], seeds[4]) * config.elastic_pixels
    return source + tf.image.resize(coarse, [IMAGE_SIDE, IMAGE_SIDE], method="bilinear")


def bilinear_sample(images: tf.Tensor, source: tf.Tensor) -> tf.Tensor:
    """Read (batch, 28, 28) images at fractional (x, y) positions; outside the image is black."""
    # One pixel of black border: clipping a far-away position onto it reads zero.
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1]])
    side = IMAGE_SIDE + 2
    flat = tf.reshape(padded, [tf.shape(images)[0], side * side])
    x = tf.clip_by_value(source[..., 0] + 1.0, 0.0, side - 1.0)
    y = tf.clip_by_value(source[..., 1] + 1.0, 0.0, side - 1.0)
    x0, y0 = tf.floor(x), tf.floor(y)
    weight_x, weight_y = x - x0, y - y0
    x0, y0 = tf.cast(x0, tf.int32), tf.cast(y0, tf.int32)
    x1, y1 = tf.minimum(x0 + 1, side - 1), tf.minimum(y0 + 1, side - 1)

    def read(row: tf.Tensor, column: tf.Tensor) -> tf.Tensor:
        index = tf.reshape(row * side + column, [tf.shape(images)[0], -1])
        return tf.reshape(tf.gather(flat, index, batch_dims=1), tf.shape(images))

    top = read(y0, x0) * (1.0 - weight_x) + read(y0, x1) * weight_x
    bottom = read(y1, x0) * (1.0 - weight_x) + read(y1, x1) * weight_x
    return top * (1.0 - weight_y) + bottom * weight_y


def augment_batch(
    images: tf.Tensor, seed: tf.Tensor, config: AugmentConfig = AugmentConfig()
) -> tf.Tensor:
    """Augment float32 (batch, 28, 28) images in 0..255; `seed` is a stateless seed of shape [2]."""
    images = tf.cast(images, tf.float32)
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=2)
    varied = vary_stroke_width(images, seeds[0], config)
    source = source_coordinates(tf.shape(images)[0], seeds[1], config)
    warped = bilinear_sample(varied, source)
    # Keep each digit's peak ink: thinning and resampling dim hairlines, but the server always
    # scales a drawing's strongest ink to full white.
    peak = tf.reduce_max(images, axis=[1, 2], keepdims=True)
    warped_peak = tf.reduce_max(warped, axis=[1, 2], keepdims=True)
    return tf.clip_by_value(warped * peak / tf.maximum(warped_peak, 1e-3), 0.0, 255.0)


def training_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    seed: int,
    config: AugmentConfig | None = AugmentConfig(),
    threads: int | None = None,
) -> tf.data.Dataset:
    """Shuffled, batched (and, with a config, augmented) training data, new draws every epoch."""
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    if config is not None:
        draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)

        def augment(batch: tuple[tf.Tensor, tf.Tensor], draw: tf.Tensor):
            batch_images, batch_labels = batch
            return augment_batch(batch_images, tf.stack([draw, seed]), config), batch_labels

        dataset = tf.data.Dataset.zip(dataset, draws).map(
            augment, num_parallel_calls=tf.data.AUTOTUNE
        )
    else:
        dataset = dataset.map(lambda x, y: (tf.cast(x, tf.float32), y))
    if threads:
        options = tf.data.Options()
        options.threading.private_threadpool_size = threads
        dataset = dataset.with_options(options)
    return dataset.prefetch(tf.data.AUTOTUNE)


def save_preview(
    images: np.ndarray,
    path: Path | str,
    seed: int = 0,
    variants: int = 9,
    config: AugmentConfig = AugmentConfig(),
    zoom: int = 3,
) -> Path:
    """Grid PNG: each row one digit, first column as in MNIST, then augmented variants."""
    rows = []
    for variant in range(variants):
        augmented = augment_batch(images.astype(np.float32), tf.constant([seed, variant]), config)
        rows.append(augmented.numpy())
    columns = [images.astype(np.float32), *rows]
    grid = np.concatenate(
        [
            np.concatenate([np.pad(c[i], 1, constant_values=96) for c in columns], axis=1)
            for i in range(len(images))
        ],
        axis=0,
    )
    picture = Image.fromarray(np.clip(grid, 0, 255).astype(np.uint8), mode="L")
    size = (picture.width * zoom, picture.height * zoom)
    picture = picture.resize(size, Image.Resampling.NEAREST)
    path = Path(path)
    picture.save(path)
    return path
