"""training.architectures and training.augment: the models' shapes and sizes, the augmentation."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from training import __main__ as cli
from training import train
from training.architectures import DEFAULT_MODEL, RECIPES, get_recipe
from training.augment import (
    NO_AUGMENTATION,
    AugmentConfig,
    augment_batch,
    bilinear_sample,
    save_preview,
    training_dataset,
)

# Documented parameter counts of the three classic models.
SEED_PARAMS = {"mlp512": 407_050, "mlp128-64": 109_386, "cnn-tutorial": 225_034}


@pytest.mark.parametrize("name", list(RECIPES))
def test_every_model_maps_raw_pixels_to_ten_probabilities(name: str) -> None:
    model = get_recipe(name).build()
    assert tuple(model.input.shape) == (None, 28, 28)
    assert tuple(model.output.shape) == (None, 10)
    rescale = model.layers[1]
    assert isinstance(rescale, keras.layers.Rescaling)
    assert rescale.scale == pytest.approx(1 / 255)
    assert model.layers[-1].activation is keras.activations.softmax
    pixels = np.random.default_rng(0).uniform(0, 255, (3, 28, 28)).astype(np.float32)
    probabilities = model(pixels, training=False).numpy()
    assert probabilities.shape == (3, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(("name", "params"), SEED_PARAMS.items())
def test_classic_models_have_their_documented_parameter_count(name: str, params: int) -> None:
    assert get_recipe(name).build().count_params() == params


def test_robust_cnn_is_the_default_and_trains_with_augmentation() -> None:
    recipe = get_recipe("robust-cnn")
    assert DEFAULT_MODEL == cli.DEFAULT_MODEL == "robust-cnn"
    assert recipe.augmentation is not None
    assert recipe.validation_split == pytest.approx(5_000 / 60_000)
    assert recipe.build().count_params() < 1_000_000  # keeps model_store/ small


def test_unknown_model_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="Unknown model 'lenet'. Choose one of: mlp512, "):
        get_recipe("lenet")


def test_command_line_constants_match_the_recipes_and_the_trainer() -> None:
    assert tuple(RECIPES) == cli.MODEL_NAMES
    assert cli.STRATEGIES == train.STRATEGIES
    assert cli.DEFAULT_STORE == train.DEFAULT_STORE
    assert cli.DEFAULT_SEED == train.DEFAULT_SEED


def digits() -> np.ndarray:
    """Four synthetic 'digits': rings of different sizes, 0..255."""
    rows, cols = np.indices((28, 28))
    radius = np.hypot(rows - 14, cols - 14)
    return np.stack([np.where(abs(radius - r) < 1.5, 255.0, 0.0) for r in (4, 6, 8, 9)]).astype(
        np.float32
    )


def test_augmentation_without_changes_returns_the_input_exactly() -> None:
    images = digits()
    out = augment_batch(images, tf.constant([1, 2]), NO_AUGMENTATION).numpy()
    np.testing.assert_array_equal(out, images)


def test_bilinear_sample_reads_shifted_positions_and_black_outside() -> None:
    images = digits()
    grid_y, grid_x = np.mgrid[0:28, 0:28].astype(np.float32)
    # Reading one pixel to the left moves the picture one pixel to the right.
    source = np.stack([grid_x - 1.0, grid_y], axis=-1)[None].repeat(len(images), axis=0)
    out = bilinear_sample(tf.constant(images), tf.constant(source)).numpy()
    np.testing.assert_array_equal(out[:, :, 1:], images[:, :, :-1])
    np.testing.assert_array_equal(out[:, :, 0], 0.0)


def test_augmentation_is_repeatable_varied_and_in_range() -> None:
    images = digits()
    first = augment_batch(images, tf.constant([7, 1])).numpy()
    again = augment_batch(images, tf.constant([7, 1])).numpy()
    other = augment_batch(images, tf.constant([7, 2])).numpy()
    assert first.shape == images.shape and first.dtype == np.float32
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).max() > 50
    assert first.min() >= 0.0
    # Every digit keeps its full-white peak, as the server's preprocessing produces.
    np.testing.assert_allclose(first.max(axis=(1, 2)), 255.0, rtol=1e-5)


def test_thicker_strokes_add_ink_and_thinner_strokes_remove_it() -> None:
    images = digits()
    still = {"rotation_degrees": 0.0, "scale_range": (1.0, 1.0), "shear": 0.0}
    still |= {"translation_pixels": 0.0, "elastic_pixels": 0.0}
    thicker = AugmentConfig(**still, thicken_probability=1.0, thin_probability=0.0)
    thinner = AugmentConfig(**still, thicken_probability=0.0, thin_probability=1.0)
    ink = images.sum(axis=(1, 2))
    seed = tf.constant([0, 0])
    assert (augment_batch(images, seed, thicker).numpy().sum(axis=(1, 2)) > ink).all()
    assert (augment_batch(images, seed, thinner).numpy().sum(axis=(1, 2)) < ink).all()


def test_training_dataset_batches_augmented_float_images_with_their_labels() -> None:
    images = digits().astype(np.uint8).repeat(5, axis=0)
    labels = np.arange(20) % 10
    batches = list(training_dataset(images, labels, batch_size=8, seed=3))
    assert [len(batch_labels) for _, batch_labels in batches] == [8, 8, 4]
    assert all(batch_images.dtype == tf.float32 for batch_images, _ in batches)
    seen = np.concatenate([batch_labels.numpy() for _, batch_labels in batches])
    assert sorted(seen.tolist()) == sorted(labels.tolist())


def test_save_preview_writes_one_row_per_digit(tmp_path) -> None:
    from PIL import Image

    path = save_preview(digits().astype(np.uint8), tmp_path / "grid.png", variants=3, zoom=1)
    with Image.open(path) as picture:
        assert picture.size == (4 * 30, 4 * 30)  # original + 3 variants, 1 px border each
