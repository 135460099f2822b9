"""Pieces of an ink map: its connected blobs, cut-outs of them, its pixels by digit, and
stroke-like pieces cut from its skeleton.

Blobs part digits that do not touch; InkParts cuts a set of blobs out of the ink (with their
faint anti-aliased edge), for the model or to be parted further. Digits that touch are one blob:
the digit splitter (app.numbers.splitter) says which digit each of its pixels belongs to
(owned_digits). Without a splitter, the skeleton is used: where digits meet, one digit's stroke
runs into the other's (a 7's bar into the next digit's stem), which makes a junction in the
ink's skeleton (its one-pixel-wide centre line). Cut at its junctions, the skeleton falls into
branches that are each part of one digit's stroke, as pen strokes are (long branches are cut
into strips too: digits that meet end to end leave no junction), and every ink pixel goes to the
nearest branch: app.numbers.cutting then groups them as it groups strokes.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app import preprocessing

Box = tuple[float, float, float, float]  # left, top, right, bottom; right and bottom exclusive
HALO = 1  # pixels of faint anti-aliased edge kept around each blob's own pixels

# The skeleton is traced on the ink scaled so that strokes are about this many pixels wide:
# thick ink thins in a few passes, and a thin line gains no spurs from pixel noise.
SKELETON_STROKE = 5.0
SKELETON_HEIGHT = 100  # and at most this many pixels high: each digit ends as 20x20 anyway
# A branch wider than this share of the ink's height is cut into narrower strips: digits that
# meet end to end, or run into each other along a curve (a 3's foot into a 6's), make one branch
# with no junction between them. (0.45 and the rest tuned on pendigits' training writers 1-20.)
BRANCH_WIDTH = 0.45
MAX_PIECES = 40  # more branches than this is not a row of digits (a scribble): not cut up
# The eight neighbours of a pixel, clockwise from the one above: (row, column) offsets.
AROUND = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))


@dataclass(frozen=True)
class Blobs:
    """An ink map's pieces: a label per pixel (0 = none) and each piece's box."""

    labels: np.ndarray  # int32, same shape as the ink; piece k has label k + 1
    boxes: list[Box]


def connected_blobs(mask: np.ndarray) -> Blobs:
    """8-connected components of a boolean mask, by runs of ink along each row (no SciPy)."""
    height, width = mask.shape
    framed = np.zeros((height, width + 2), dtype=np.int8)
    framed[:, 1:-1] = mask
    steps = np.diff(framed, axis=1)
    rows, starts = np.nonzero(steps == 1)
    ends = np.nonzero(steps == -1)[1]  # same rows, same order: every run starts and ends
    parent = list(range(len(rows)))

    def root(run: int) -> int:
        while parent[run] != run:
            parent[run] = parent[parent[run]]
            run = parent[run]
        return run

    row_starts = np.searchsorted(rows, np.arange(height + 1))
    for row in range(1, height):
        above, above_end = int(row_starts[row - 1]), int(row_starts[row])
        here, here_end = above_end, int(row_starts[row + 1])
        while above < above_end and here < here_end:
            # Runs touch, diagonals included, when each starts no later than the other ends.
            if starts[here] <= ends[above] and starts[above] <= ends[here]:
                a, b = root(above), root(here)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            if ends[above] < ends[here]:
                above += 1
            else:
                here += 1
    roots = np.array([root(run) for run in range(len(rows))], dtype=np.int64)
    unique, run_labels = np.unique(roots, return_inverse=True)
    labels = np.zeros((height, width), dtype=np.int32)
    boxes = []
    for label in range(len(unique)):
        members = np.flatnonzero(run_labels == label)
        for run in members:
            labels[rows[run], starts[run] : ends[run]] = label + 1
        boxes.append(
            (
                float(starts[members].min()),
                float(rows[members].min()),
                float(ends[members].max()),
                float(rows[members].max() + 1),
            )
        )
    return Blobs(labels, boxes)


def neighbours(mask: np.ndarray) -> list[np.ndarray]:
    """Each pixel's eight neighbours (AROUND's order) as 0/1 arrays; outside counts as 0."""
    framed = np.pad(mask.astype(np.uint8), 1)
    height, width = mask.shape
    return [framed[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width] for dy, dx in AROUND]


def branchings(around: list[np.ndarray]) -> np.ndarray:
    """How many separate runs of set neighbours each pixel has, going round it once."""
    ring = [*around, around[0]]
    return sum((ring[i] == 0) & (ring[i + 1] == 1) for i in range(8)).astype(np.uint8)


def thin(mask: np.ndarray) -> np.ndarray:
    """The mask's skeleton, one pixel wide and connected as the mask is (Zhang and Suen's
    thinning, 1984: peel border pixels whose removal breaks nothing, in two alternating
    passes, until none is left to peel)."""
    skeleton = mask.astype(bool).copy()
    while True:
        peeled = False
        for second_pass in (False, True):
            around = neighbours(skeleton)
            up, _, right, _, down, _, left, _ = around
            count = sum(around)
            if second_pass:
                open_side = (up * right * left == 0) & (up * down * left == 0)
            else:
                open_side = (up * right * down == 0) & (right * down * left == 0)
            removable = (
                skeleton & (count >= 2) & (count <= 6) & (branchings(around) == 1) & open_side
            )
            if removable.any():
                skeleton &= ~removable
                peeled = True
        if not peeled:
            return skeleton


def grow(labels: np.ndarray, mask: np.ndarray, steps: int) -> np.ndarray:
    """Labels spread one pixel a step (at most `steps`) over the unlabelled pixels of the
    mask, each taking the label of (about) the nearest labelled pixel."""
    labels = np.where(mask, labels, 0)
    for _ in range(steps):
        spread = preprocessing.square_filter(labels, 1, np.maximum)
        reached = mask & (labels == 0) & (spread > 0)
        if not reached.any():
            break
        labels[reached] = spread[reached]
    unreached = mask & (labels == 0)  # ink with no branch of its own (a dot): pieces too
    if unreached.any():
        labels[unreached] = connected_blobs(unreached).labels[unreached] + labels.max()
    return labels


def numbered(labels: np.ndarray) -> Blobs:
    """The labels renumbered 1..n with no label left unused, and each piece's box."""
    present = np.unique(labels[labels > 0])
    renumber = np.zeros(int(labels.max()) + 1, dtype=np.int32)
    renumber[present] = np.arange(1, len(present) + 1)
    labels = renumber[labels]
    boxes = []
    for label in range(1, len(present) + 1):
        rows, columns = np.nonzero(labels == label)
        boxes.append(
            (
                float(columns.min()),
                float(rows.min()),
                float(columns.max() + 1),
                float(rows.max() + 1),
            )
        )
    return Blobs(labels, boxes)


def narrow_branches(branches: Blobs, widest: float) -> np.ndarray:
    """The branches' pixels less a column through each branch wider than `widest`, every so
    often, so that no part left is wider."""
    kept = branches.labels > 0
    for label, (left, _, right, _) in enumerate(branches.boxes, start=1):
        strips = math.ceil((right - left) / max(widest, 1.0))
        for strip in range(1, strips):
            column = int(left + strip * (right - left) / strips)
            kept[:, column] &= branches.labels[:, column] != label
    return kept


def stroke_pieces(mask: np.ndarray, stroke: float) -> Blobs | None:
    """The ink cut into stroke-like pieces (see the module's description); `stroke` is its
    stroke width in pixels. None when that gives more than MAX_PIECES pieces."""
    height, width = mask.shape
    scale = max(1.0, stroke / SKELETON_STROKE, height / SKELETON_HEIGHT)
    small_height, small_width = max(1, round(height / scale)), max(1, round(width / scale))
    small = mask
    if scale > 1.0:
        # A stroke thinner than a small pixel still leaves its trace (half its share of one).
        coverage = preprocessing.resize(mask.astype(np.float32), small_height, small_width)
        small = coverage >= 0.5 * min(1.0, stroke / scale)
    skeleton = thin(small)
    junctions = skeleton & (branchings(neighbours(skeleton)) >= 3)
    near_junction = preprocessing.square_filter(junctions.astype(np.uint8), 1, np.maximum) > 0
    branches = connected_blobs(skeleton & ~near_junction)
    branches = connected_blobs(narrow_branches(branches, BRANCH_WIDTH * small_height))
    if len(branches.boxes) > MAX_PIECES:
        return None
    labels = grow(branches.labels, small, sum(small.shape))
    # Back to the ink's own pixels: each takes its small pixel's piece, the edges re-grown.
    labels = preprocessing.nearest_resize(labels, height, width)
    pieces = numbered(grow(labels, mask, math.ceil(scale) + 1))
    return pieces if len(pieces.boxes) <= MAX_PIECES else None


def owned_digits(mask: np.ndarray, owners: np.ndarray) -> np.ndarray:
    """Every ink pixel of the mask labelled with its digit, 1..n left to right, from the digit
    splitter's map (app.numbers.splitter): its owners off the mask are dropped, and ink it gave
    no owner (too faint for it) goes to the nearest digit's."""
    labels = grow(owners.astype(np.int32), mask, sum(mask.shape))
    present = np.unique(labels[labels > 0])
    columns = np.broadcast_to(np.arange(mask.shape[1]), mask.shape)
    centres = [float(columns[labels == label].mean()) for label in present]
    renumber = np.zeros(int(labels.max()) + 1, dtype=np.int32)
    renumber[present[np.argsort(centres, kind="stable")]] = np.arange(1, len(present) + 1)
    return renumber[labels]


# --- cut-outs of blobs -------------------------------------------------------------------------


def moved(box: Box, right: float, down: float) -> Box:
    left, top, box_right, bottom = box
    return left + right, top + down, box_right + right, bottom + down


def union_box(boxes: Sequence[Box]) -> Box:
    lefts, tops, rights, bottoms = zip(*boxes, strict=True)
    return min(lefts), min(tops), max(rights), max(bottoms)


def grown(mask: np.ndarray, halo: int = HALO) -> np.ndarray:
    """The mask grown by `halo` pixels: the faint anti-aliased edge of its ink."""
    return preprocessing.square_filter(mask.astype(np.uint8), halo, np.maximum) > 0


def mask_box(mask: np.ndarray) -> Box:
    """The tight box of a non-empty mask's pixels."""
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return (float(columns[0]), float(rows[0]), float(columns[-1] + 1), float(rows[-1] + 1))


# A cut between touching digits: for each row of the ink map, the first column right of it.
Cut = np.ndarray
Bounds = tuple[Cut, Cut] | None  # the cuts left and right of a part; None: no cut


class InkParts:
    """Cut-outs of one ink map: a set of blobs, optionally only what lies between two cuts."""

    def __init__(self, ink: np.ndarray, blobs: Blobs) -> None:
        self.ink = ink
        self.blobs = blobs

    def own_mask(self, members: list[int], bounds: Bounds, halo: int = 0) -> tuple:
        """(top, left, mask) of the blobs' pixels between the cuts, grown by `halo` pixels
        (the faint anti-aliased edge) but never over a cut."""
        box = union_box([self.blobs.boxes[i] for i in members])
        left, top, right, bottom = (int(v) for v in box)
        if bounds is not None:
            left = max(left, int(bounds[0][top:bottom].min()))
            right = min(right, int(bounds[1][top:bottom].max()))
        height, width = self.ink.shape
        top, left = max(top - halo, 0), max(left - halo, 0)
        bottom, right = min(bottom + halo, height), min(right + halo, width)
        labels = self.blobs.labels[top:bottom, left:right]
        own = np.isin(labels, np.asarray(members) + 1)
        if halo and own.any():
            own = grown(own, halo)
        if bounds is not None:
            columns = np.arange(left, right)[np.newaxis, :]
            own &= columns >= bounds[0][top:bottom, np.newaxis]
            own &= columns < bounds[1][top:bottom, np.newaxis]
        return top, left, own

    def cut_out(self, members: list[int], bounds: Bounds = None) -> np.ndarray:
        """The ink of these blobs (with their faint edge) between the cuts, other ink removed."""
        top, left, own = self.own_mask(members, bounds, HALO)
        height, width = own.shape
        return self.ink[top : top + height, left : left + width] * own

    def box_of(self, members: list[int], bounds: Bounds = None) -> Box | None:
        """The tight box of the part's own pixels; None when it has none."""
        top, left, own = self.own_mask(members, bounds)
        return moved(mask_box(own), left, top) if own.any() else None

    def model_input(self, members: list[int], bounds: Bounds = None) -> np.ndarray:
        return preprocessing.ink_to_mnist(self.cut_out(members, bounds))

    def crop(self, members: list[int]) -> tuple[int, int, np.ndarray, np.ndarray]:
        """(top, left, ink, own) of the blobs' box grown by HALO: their ink with its faint edge
        (other ink removed), and which pixels are their own, for parting them further."""
        top, left, near = self.own_mask(members, None, HALO)
        height, width = near.shape
        labels = self.blobs.labels[top : top + height, left : left + width]
        ink = self.ink[top : top + height, left : left + width] * near
        return top, left, ink, np.isin(labels, np.asarray(members) + 1)
