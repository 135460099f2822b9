"""The skeleton pieces that part touching digits in images (app.numbers.ink_pieces)."""

import numpy as np

from app.numbers import ink_pieces


def thick_line(mask: np.ndarray, rows: slice, columns: slice) -> None:
    mask[rows, columns] = True


def test_thinning_leaves_a_one_pixel_line_along_a_thick_bar() -> None:
    mask = np.zeros((20, 40), dtype=bool)
    thick_line(mask, slice(8, 13), slice(5, 35))  # a bar 5 pixels thick
    skeleton = ink_pieces.thin(mask)
    assert skeleton.any()
    assert np.all(skeleton.sum(axis=0) <= 1)  # one pixel across, in every column
    assert not (skeleton & ~mask).any()  # inside the ink
    columns = np.flatnonzero(skeleton.any(axis=0))
    assert columns.min() <= 8 and columns.max() >= 31  # and most of its length
    assert len(ink_pieces.connected_blobs(skeleton).boxes) == 1  # in one piece


def test_a_bar_running_into_a_stem_is_cut_where_they_meet() -> None:
    # A 7's bar running into the next digit's stem: a T-junction; the bar, the stem above the
    # junction and the stem below it are pieces of their own, and every ink pixel has a piece.
    mask = np.zeros((60, 60), dtype=bool)
    thick_line(mask, slice(10, 15), slice(16, 40))  # the bar, ending in the stem
    thick_line(mask, slice(2, 58), slice(36, 41))  # the stem
    pieces = ink_pieces.stroke_pieces(mask, stroke=5.0)
    assert pieces is not None
    assert len(pieces.boxes) == 3
    assert np.array_equal(pieces.labels > 0, mask)
    bar = next(box for box in pieces.boxes if box[2] - box[0] > 20)
    assert bar[0] == 16.0 and bar[2] <= 40.0 and bar[3] - bar[1] <= 8
    stems = [box for box in pieces.boxes if box is not bar]
    assert all(box[0] >= 34 for box in stems)
    assert sorted(box[1] for box in stems)[0] == 2.0 and max(box[3] for box in stems) == 58.0


def test_a_bent_stroke_without_a_junction_stays_one_piece_at_any_thickness() -> None:
    for thickness in (3, 8, 20):
        mask = np.zeros((200, 200), dtype=bool)
        thick_line(mask, slice(20, 180), slice(20, 20 + thickness))  # an L
        thick_line(mask, slice(180 - thickness, 180), slice(20, 80))
        pieces = ink_pieces.stroke_pieces(mask, stroke=float(thickness))
        assert pieces is not None and len(pieces.boxes) == 1, thickness
        assert np.array_equal(pieces.labels > 0, mask)


def test_a_stroke_far_wider_than_high_is_cut_into_narrower_pieces() -> None:
    # Digits that meet end to end make one branch with no junction: a branch is never wider
    # than BRANCH_WIDTH of the ink's height.
    mask = np.zeros((100, 300), dtype=bool)
    thick_line(mask, slice(0, 100), slice(10, 15))  # a stem, so that the ink is 100 high
    thick_line(mask, slice(90, 95), slice(15, 290))  # and a long foot from its bottom
    pieces = ink_pieces.stroke_pieces(mask, stroke=5.0)
    assert pieces is not None
    widths = [right - left for left, _, right, _ in pieces.boxes]
    assert len(pieces.boxes) >= 275 / (ink_pieces.BRANCH_WIDTH * 100)
    assert max(widths) <= ink_pieces.BRANCH_WIDTH * 100 + 5  # a stroke's width of slack
    assert np.array_equal(pieces.labels > 0, mask)


def test_a_scribble_of_too_many_branches_is_not_cut_up() -> None:
    mask = np.zeros((64, 64), dtype=bool)
    mask[::4, :] = True  # a grid: hundreds of junctions
    mask[:, ::4] = True
    assert ink_pieces.stroke_pieces(mask, stroke=1.0) is None


def test_the_splitters_digits_cover_the_ink_numbered_left_to_right() -> None:
    mask = np.zeros((6, 12), dtype=bool)
    mask[1:5, 1:11] = True
    owners = np.zeros((6, 12), dtype=np.int32)
    owners[1:5, 7:11] = 1  # the splitter's first digit is the right one here
    owners[1:5, 1:4] = 3  # its digit 2 lies off the mask only
    owners[0, :] = 2
    digits = ink_pieces.owned_digits(mask, owners)
    assert np.array_equal(digits > 0, mask)  # every ink pixel has a digit, nothing else does
    assert set(np.unique(digits[mask])) == {1, 2}
    assert (digits[1:5, 1:4] == 1).all() and (digits[1:5, 7:11] == 2).all()
    # Ink the splitter gave no digit goes to the nearest one.
    assert (digits[1:5, 4] == 1).all() and (digits[1:5, 6] == 2).all()
