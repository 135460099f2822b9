"""Drawings that are not digits, made here, to teach and to test "that is not a digit".

No letters data set is at hand (EMNIST and Quick, Draw! download at run time), so this module
draws its own, the way a student with a pad would, and every one goes through the server's own
preprocessing (app.preprocessing), by the strokes path or as a canvas PNG by the image path, so
that a negative looks exactly like what the model would see.

Kinds (``KINDS``), each jittered like handwriting (random rotation, slant, squash, per-point
wobble and a smooth elastic bend of every stroke, see ``handwrite``):

- letters: one glyph of a Hershey vector font (the ``hershey-fonts`` package): Latin capitals and
  small letters in print, script and gothic styles, Greek, Cyrillic and Japanese kana/kanji;
- words: 2-5 letters in a row, as a student writes a name;
- symbols: punctuation and signs (+ = ? # & @ % $ * < > ...) and the Hershey symbol sets
  (astrology, music, meteorology, maths, markers);
- font_glyphs: letters and symbols of the system's TrueType fonts (DejaVu, Liberation), drawn as
  filled outlines at a random size, slant and rotation on a white canvas (image path only);
- scribbles: 1-3 random smooth scrawls;
- shapes: square, rectangle, circle, triangle, star, smiley, heart, arrow;
- crossings: X, a hash, a plus inside a box, crossed wavy lines, a grid;
- overlapping_digits: 2-3 real digits (pendigits) drawn over each other, shifted;
- half_digits: a real digit with one half (top, bottom, left or right) cut away;
- dots: one dot or a few scattered dots;
- lines: one straight or slightly bent line, at least 45 degrees away from vertical (a vertical
  line is a 1).

Left out on purpose, since they are drawn exactly like a digit: the letters O o D I l i j
(without its dot a stroke, since the server drops stray specks) S s Z z g q b G, the signs
| / \\ ( ) ! ` ' and the keys 0-9 of every font (some symbol fonts draw digits there).

Two disjoint splits: ``"train"`` (some fonts, seeds from one stream, pendigits writers 1-20) for
the detector, ``"heldout"`` (other fonts, other seeds, writers 21-30) for its figures, so a
held-out figure is on glyph styles and writers the detector never saw.

    python -m training negatives --out grid.png     # a picture of every kind
"""

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import numpy as np
from HersheyFonts import HersheyFonts
from PIL import Image, ImageDraw, ImageFont

from app.errors import InputError
from app.preprocessing import image_bytes_to_mnist, strokes_to_mnist
from training.canvas import canvas_png, random_style
from training.pendigits import PenDigit

KINDS = (
    "letters",
    "words",
    "symbols",
    "font_glyphs",
    "scribbles",
    "shapes",
    "crossings",
    "overlapping_digits",
    "half_digits",
    "dots",
    "lines",
)
SPLITS = ("train", "heldout")
# Glyphs a person draws exactly like a digit (see the module docstring).
DIGIT_LIKE = set("OoDIlijSsZzgqbG|/\\()!`'0123456789")
LETTER_KEYS = [
    c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in DIGIT_LIKE
]
SYMBOL_KEYS = [c for c in '+-=?#&@%$*<>~^:;"[]{}_' if c not in DIGIT_LIKE]
LETTER_FONTS = {
    "train": ("futural", "rowmans", "timesr", "scripts", "gothiceng", "greek", "cyrillic"),
    "heldout": ("futuram", "rowmand", "timesi", "scriptc", "cursive", "gothicger", "greekc"),
}
KANA_FONT = "japanese"  # its glyphs beyond ASCII are split between the two splits by index
SYMBOL_FONTS = {
    "train": ("astrology", "music", "mathupp", "markers"),
    "heldout": ("meteorology", "symbolic", "mathlow"),
}
TRUETYPE_FONTS = {
    "train": "/usr/share/fonts/truetype/dejavu",
    "heldout": "/usr/share/fonts/truetype/liberation",
}
# Handwriting jitter.
ROTATION_DEGREES = 15.0
SLANT = 0.3
SQUASH = (0.75, 1.3)  # width / height stretch
WOBBLE = 0.012  # per-point noise as a share of the drawing's size
BEND = 0.05  # smooth elastic displacement as a share of the drawing's size
POINT_SPACING = 0.02  # resampling step as a share of the drawing's size
IMAGE_PATH_SHARE = 0.5  # share of stroke negatives sent as a canvas PNG rather than strokes


@dataclass(frozen=True)
class Negative:
    """One non-digit: strokes (y down, any unit) or, for font glyphs, a PNG."""

    kind: str
    strokes: tuple[np.ndarray, ...] | None = None
    png: bytes | None = None


# --- handwriting jitter -------------------------------------------------------------------------


def resample(stroke: np.ndarray, step: float) -> np.ndarray:
    """Points every `step` along a polyline, so wobble and bends curve straight segments."""
    if len(stroke) < 2:
        return stroke
    lengths = np.hypot(*np.diff(stroke, axis=0).T)
    total = float(lengths.sum())
    if total == 0:
        return stroke[:1]
    along = np.concatenate([[0], np.cumsum(lengths)])
    where = np.linspace(0, total, max(2, int(total / step) + 1))
    return np.column_stack([np.interp(where, along, stroke[:, k]) for k in range(2)])


def handwrite(strokes: Sequence[np.ndarray], rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """The strokes as a hand would draw them: rotated, slanted, squashed, wobbly, bent."""
    arrays = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes if len(s)]
    every = np.concatenate(arrays)
    size = float(max(np.ptp(every, axis=0).max(), 1e-6))
    centre = every.mean(axis=0)
    angle = math.radians(rng.uniform(-ROTATION_DEGREES, ROTATION_DEGREES))
    squash = rng.uniform(*SQUASH)
    rotate = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    shape = np.array([[squash, rng.uniform(-SLANT, SLANT)], [0.0, 1.0]])
    affine = rotate @ shape
    # A smooth bend: a random displacement field of two low-frequency sine waves per axis.
    phases = rng.uniform(0, 2 * math.pi, (2, 2))
    frequencies = rng.uniform(0.5, 1.5, (2, 2)) * 2 * math.pi / size
    amplitude = BEND * size * rng.uniform(0.3, 1.0)
    out = []
    for stroke in arrays:
        points = resample(stroke, POINT_SPACING * size)
        relative = points - centre
        bend = amplitude * np.column_stack(
            [
                np.sin(relative[:, 1] * frequencies[0, 0] + phases[0, 0]),
                np.sin(relative[:, 0] * frequencies[1, 1] + phases[1, 1]),
            ]
        )
        wobble = rng.normal(0, WOBBLE * size, points.shape)
        out.append((relative + bend) @ affine.T + wobble)
    return tuple(out)


# --- glyph sources ------------------------------------------------------------------------------


@cache
def hershey_font(name: str) -> HersheyFonts:
    font = HersheyFonts()
    font.load_default_font(name)
    return font


def glyph_strokes(font_name: str, key: str) -> list[np.ndarray]:
    """A Hershey glyph's strokes (y down) by its key, or [] if the font has none there."""
    glyph = hershey_font(font_name).all_glyphs.get(key)
    if glyph is None:
        return []
    return [np.asarray(s, dtype=np.float64) for s in glyph.strokes if len(s)]


@cache
def kana_keys(split: str) -> tuple[str, ...]:
    """The Japanese font's glyphs beyond ASCII, every other one for each split."""
    keys = [k for k in hershey_font(KANA_FONT).all_glyphs if len(k) != 1 or ord(k) > 126]
    return tuple(keys[SPLITS.index(split) :: 2])


def random_letter(rng: np.random.Generator, split: str) -> list[np.ndarray]:
    if rng.random() < 0.12 and kana_keys(split):
        keys = kana_keys(split)
        return glyph_strokes(KANA_FONT, keys[int(rng.integers(len(keys)))])
    fonts = LETTER_FONTS[split]
    for _ in range(20):
        font = fonts[int(rng.integers(len(fonts)))]
        strokes = glyph_strokes(font, LETTER_KEYS[int(rng.integers(len(LETTER_KEYS)))])
        if strokes:
            return strokes
    raise RuntimeError("no letter glyphs found in the Hershey fonts")


def letters(rng: np.random.Generator, split: str, pen: Sequence[PenDigit]) -> Negative:
    return Negative("letters", handwrite(random_letter(rng, split), rng))


def words(rng: np.random.Generator, split: str, pen: Sequence[PenDigit]) -> Negative:
    strokes: list[np.ndarray] = []
    x = 0.0
    for _ in range(int(rng.integers(2, 6))):
        glyph = random_letter(rng, split)
        every = np.concatenate(glyph)
        shift = np.array([x - every[:, 0].min(), 0.0])
        strokes += [s + shift for s in glyph]
        x += float(np.ptp(every[:, 0])) + rng.uniform(0.5, 4.0)
    return Negative("words", handwrite(strokes, rng))


def symbols(rng: np.random.Generator, split: str, pen: Sequence[PenDigit]) -> Negative:
    for _ in range(50):
        if rng.random() < 0.5:
            font = LETTER_FONTS[split][int(rng.integers(2))]  # print styles only
            key = SYMBOL_KEYS[int(rng.integers(len(SYMBOL_KEYS)))]
        else:
            fonts = SYMBOL_FONTS[split]
            font = fonts[int(rng.integers(len(fonts)))]
            keys = [k for k in hershey_font(font).all_glyphs if k.strip() and k not in DIGIT_LIKE]
            key = keys[int(rng.integers(len(keys)))]
        strokes = glyph_strokes(font, key)
        if strokes and sum(len(s) for s in strokes) > 1:
            return Negative("symbols", handwrite(strokes, rng))
    raise RuntimeError("no symbol glyphs found in the Hershey fonts")


@cache
def truetype_files(split: str) -> tuple[str, ...]:
    folder = Path(TRUETYPE_FONTS[split])
    return tuple(sorted(str(p) for p in folder.glob("*.ttf"))) if folder.is_dir() else ()


def font_glyphs(rng: np.random.Generator, split: str, pen: Sequence[PenDigit]) -> Negative:
    """A TrueType letter or sign as a filled outline on a white canvas; Hershey if no fonts."""
    files = truetype_files(split)
    if not files:
        return Negative("font_glyphs", handwrite(random_letter(rng, split), rng))
    keys = LETTER_KEYS + SYMBOL_KEYS + list("ÆÐÞßøæœ§¶€£¥©®±÷×αβγδεζηθκλμνξπρστφχψωБГДЖИЛПФЦЧШЩЭЮЯ")
    key = keys[int(rng.integers(len(keys)))]
    font = ImageFont.truetype(files[int(rng.integers(len(files)))], int(rng.integers(60, 160)))
    side = 320
    image = Image.new("L", (side, side), 255)
    ImageDraw.Draw(image).text((side / 2, side / 2), key, fill=0, font=font, anchor="mm")
    angle = rng.uniform(-ROTATION_DEGREES, ROTATION_DEGREES)
    slant = rng.uniform(-SLANT, SLANT)
    image = image.transform(
        image.size, Image.Transform.AFFINE, (1, slant, -slant * side / 2, 0, 1, 0), fillcolor=255
    ).rotate(angle, fillcolor=255, resample=Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return Negative("font_glyphs", png=buffer.getvalue())


def scribbles(rng: np.random.Generator, split: str, pen: Sequence[PenDigit]) -> Negative:
    strokes = []
    for _ in range(int(rng.integers(1, 4))):
        steps = int(rng.integers(30, 120))
        heading = np.cumsum(rng.normal(0, rng.uniform(0.3, 0.9), steps))
        points = np.cumsum(np.column_stack([np.cos(heading), np.sin(heading)]), axis=0)
        strokes.append(points + rng.normal(0, 5, 2))
    return Negative("scribbles", handwrite(strokes, rng))


def circle(centre: tuple[float, float], radius: float, start: float = 0, end: float = 360):
    angles = np.radians(np.linspace(start, end, 40))
    return np.column_stack(
        [centre[0] + radius * np.cos(angles), centre[1] + radius * np.sin(angles)]
    )


def polygon(points: Sequence[tuple[float, float]]) -> np.ndarray:
    return np.asarray([*points, points[0]], dtype=np.float64)


def shape_strokes(name: str, rng: np.random.Generator) -> list[np.ndarray]:
    if name == "square":
        return [polygon([(0, 0), (10, 0), (10, 10), (0, 10)])]
    if name == "rectangle":
        width = rng.uniform(14, 25)
        return [polygon([(0, 0), (width, 0), (width, 10), (0, 10)])]
    if name == "circle":
        return [circle((0, 0), 10, 0, rng.uniform(340, 380))]
    if name == "triangle":
        return [polygon([(0, 10), (10, 10), (5, 1.3)])]
    if name == "star":
        angles = np.radians(-90 + 144 * np.arange(6))
        return [np.column_stack([np.cos(angles), np.sin(angles)]) * 10]
    if name == "smiley":
        return [
            circle((0, 0), 10),
            circle((-3.5, -3), 0.6),
            circle((3.5, -3), 0.6),
            circle((0, 0), 6, 30, 150),
        ]
    if name == "heart":
        t = np.linspace(0, 2 * np.pi, 60)
        x = 16 * np.sin(t) ** 3
        y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        return [np.column_stack([x, y])]
    # arrow
    return [np.array([[0, 5], [20, 5]]), np.array([[14, 0], [20, 5], [14, 10]])]


SHAPES = ("square", "rectangle", "circle", "triangle", "star", "smiley", "heart", "arrow")


def shapes(rng: np.random.Generator, split: str, pen: Sequence[PenDigit]) -> Negative:
    name = SHAPES[int(rng.integers(len(SHAPES)))]
    return Negative("shapes", handwrite(shape_strokes(name, rng), rng))


def crossings(rng: np.random.Generator, split: str, pen: Sequence[PenDigit]) -> Negative:
    choice = int(rng.integers(5))
    if choice == 0:  # X
        strokes = [np.array([[0, 0], [10, 10]]), np.array([[10, 0], [0, 10]])]
    elif choice == 1:  # hash
        strokes = [
            np.array([[3, 0], [2, 10]]),
            np.array([[7, 0], [6, 10]]),
            np.array([[0, 3.5], [10, 3.5]]),
            np.array([[0, 6.5], [10, 6.5]]),
        ]
    elif choice == 2:  # plus in a box
        strokes = [
            polygon([(0, 0), (10, 0), (10, 10), (0, 10)]),
            np.array([[5, 1], [5, 9]]),
            np.array([[1, 5], [9, 5]]),
        ]
    elif choice == 3:  # crossed wavy lines
        t = np.linspace(0, 10, 40)
        strokes = [
            np.column_stack([t, 5 + 2 * np.sin(t)]),
            np.column_stack([5 + 2 * np.sin(t * 1.3), t]),
        ]
    else:  # a grid of 3 x 3 lines
        strokes = [np.array([[k, 0], [k, 10]]) for k in (0, 5, 10)]
        strokes += [np.array([[0, k], [10, k]]) for k in (0, 5, 10)]
    return Negative("crossings", handwrite(strokes, rng))


def pen_digit(rng: np.random.Generator, pen: Sequence[PenDigit], labels: str = "0123456789"):
    """A random real digit among `labels`; ValueError when no pen digits were given."""
    chosen = [d for d in pen if str(d.label) in labels]
    if not chosen:
        raise ValueError("overlapping and half digits need pendigits digits (pen=...)")
    return chosen[int(rng.integers(len(chosen)))]


def overlapping_digits(rng: np.random.Generator, split: str, pen: Sequence[PenDigit]) -> Negative:
    strokes: list[np.ndarray] = []
    for index in range(int(rng.integers(2, 4))):
        digit = pen_digit(rng, pen)
        every = np.concatenate(digit.strokes)
        low, size = every.min(axis=0), max(float(np.ptp(every, axis=0).max()), 1.0)
        # Shifted by 25-60% of a digit, so they overlap but are not drawn on top of each other.
        shift = index * rng.uniform(0.25, 0.6) * np.array([1.0, rng.uniform(-0.4, 0.4)])
        strokes += [(s - low) / size + shift for s in digit.strokes]
    return Negative("overlapping_digits", handwrite(strokes, rng))


def half_digits(rng: np.random.Generator, split: str, pen: Sequence[PenDigit]) -> Negative:
    """A digit with one half cut away; 1s and 7s are left out (half of one is still a 1)."""
    for _ in range(20):
        digit = pen_digit(rng, pen, "02345689")
        every = np.concatenate(digit.strokes)
        axis = int(rng.integers(2))
        cut = every[:, axis].min() + rng.uniform(0.45, 0.55) * np.ptp(every[:, axis])
        keep_low = bool(rng.random() < 0.5)
        kept = []
        for stroke in digit.strokes:
            mask = stroke[:, axis] <= cut if keep_low else stroke[:, axis] >= cut
            # Split a stroke where it leaves the kept half, not join its pieces across the cut.
            breaks = np.flatnonzero(np.diff(mask.astype(np.int8)) != 0) + 1
            for piece, inside in zip(np.split(stroke, breaks), np.split(mask, breaks), strict=True):
                if inside[0] and len(piece) > 1:
                    kept.append(piece)
        if kept:
            return Negative("half_digits", handwrite(kept, rng))
    raise ValueError("could not cut a digit in half")


def dots(rng: np.random.Generator, split: str, pen: Sequence[PenDigit]) -> Negative:
    """Taps: one point, or a few scattered; or one blob of ink sent as an image.

    A blob sent as strokes would be scaled up to a ring (the strokes path draws any drawing 20 px
    tall), which is a 0; a canvas keeps it a filled disc.
    """
    if rng.random() < 0.25:
        blob = circle((0.0, 0.0), 0.3)
        style = random_style(rng)
        style = replace(style, height_share=style.brush / style.side * rng.uniform(1.0, 1.5))
        return Negative("dots", png=canvas_png([blob], style))
    count = 1 if rng.random() < 0.5 else int(rng.integers(2, 6))
    return Negative("dots", tuple(rng.uniform(0, 10, (count, 1, 2))))


def lines(rng: np.random.Generator, split: str, pen: Sequence[PenDigit]) -> Negative:
    angle = math.radians(rng.uniform(45, 135))  # from vertical: never a 1
    end = 10 * np.array([math.sin(angle), math.cos(angle)])
    line = np.array([[0.0, 0.0], end])
    strokes = handwrite([line], rng) if rng.random() < 0.5 else (resample(line, 0.5),)
    return Negative("lines", strokes)


MAKERS: dict[str, Callable[[np.random.Generator, str, Sequence[PenDigit]], Negative]] = {
    "letters": letters,
    "words": words,
    "symbols": symbols,
    "font_glyphs": font_glyphs,
    "scribbles": scribbles,
    "shapes": shapes,
    "crossings": crossings,
    "overlapping_digits": overlapping_digits,
    "half_digits": half_digits,
    "dots": dots,
    "lines": lines,
}


# --- through the server's preprocessing -----------------------------------------------------


def make_negative(kind: str, rng: np.random.Generator, split: str, pen: Sequence[PenDigit]):
    if kind not in MAKERS:
        raise ValueError(f"Unknown kind {kind!r}; choose from {', '.join(KINDS)}.")
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; choose from {', '.join(SPLITS)}.")
    return MAKERS[kind](rng, split, pen)


def model_input(negative: Negative, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """(28x28 float32 in [0, 1] as the server prepares it, the input path used)."""
    if negative.png is not None:
        return image_bytes_to_mnist(negative.png), "image"
    strokes = [s.tolist() for s in negative.strokes or ()]
    if rng.random() < IMAGE_PATH_SHARE:
        style = random_style(rng)
        return image_bytes_to_mnist(canvas_png(negative.strokes, style)), "image"
    return strokes_to_mnist(strokes), "strokes"


def negative_inputs(
    kind: str, count: int, seed: int, split: str, pen: Sequence[PenDigit] = ()
) -> np.ndarray:
    """`count` model inputs (N, 28, 28) float32 of one kind; repeatable from (seed, split, kind).

    A negative the server would refuse as empty (all ink too faint) is drawn again.
    """
    images = []
    index = 0
    while len(images) < count:
        rng = np.random.default_rng([seed, SPLITS.index(split), KINDS.index(kind), index])
        index += 1
        try:
            images.append(model_input(make_negative(kind, rng, split, pen), rng)[0])
        except InputError:
            continue
    return np.stack(images) if images else np.zeros((0, 28, 28), np.float32)


def save_grid(path: Path, seed: int, pen: Sequence[PenDigit], per_kind: int = 12) -> None:
    """One row per kind of 28x28 model inputs, for looking at what the detector learns from."""
    rows = [
        np.concatenate(list(negative_inputs(kind, per_kind, seed, "train", pen)), axis=1)
        for kind in KINDS
    ]
    picture = np.clip(np.concatenate(rows, axis=0) * 255, 0, 255).astype(np.uint8)
    image = Image.fromarray(picture).resize((picture.shape[1] * 3, picture.shape[0] * 3))
    image.save(path)
