"""Landmark layouts: WFLW (98), 300W/iBUG (68) and COFW (29).

Each layout names the landmarks the normalisers use and the left-right permutation
that maps a face onto its mirror image (landmark ``i`` of a mirrored face is landmark
``mirror[i]`` of the original). The 98 and 68 permutations follow the published point
diagrams; a test checks that the 98-point one agrees with the 68-point one through
the common WFLW-to-iBUG subset. COFW follows the dataset's own pairing (brows 0-7,
eye corners 8-15, pupils 16-17, nose 18-21, mouth 22-27, chin 28).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    """Where a landmark layout keeps its eyes, and how it mirrors.

    ``outer_eye_corners`` is a pair of indices; ``pupils`` a pair of index groups
    whose means are the eye centres (one index when the layout annotates pupils).
    """

    name: str
    num_landmarks: int
    outer_eye_corners: tuple[int, int]
    pupils: tuple[tuple[int, ...], tuple[int, ...]]
    mirror: tuple[int, ...]


def _mirror(size: int, pairs: list[tuple[int, int]]) -> tuple[int, ...]:
    permutation = list(range(size))
    for left, right in pairs:
        permutation[left], permutation[right] = right, left
    return tuple(permutation)


def _reversed_run(first: int, last: int) -> list[tuple[int, int]]:
    """Pairs mirroring a contour whose points run from ``first`` to ``last``."""
    return [(first + k, last - k) for k in range((last - first + 1) // 2)]


_IBUG68_PAIRS = (
    _reversed_run(0, 16)  # jaw
    + _reversed_run(17, 26)  # brows
    + _reversed_run(31, 35)  # nostrils
    + [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]  # eyes
    + _reversed_run(48, 54)  # upper outer lip
    + _reversed_run(55, 59)  # lower outer lip
    + _reversed_run(60, 64)  # upper inner lip
    + [(65, 67)]  # lower inner lip
)

_WFLW98_PAIRS = (
    _reversed_run(0, 32)  # jaw
    + [(33, 46), (34, 45), (35, 44), (36, 43), (37, 42)]  # upper brows
    + [(38, 50), (39, 49), (40, 48), (41, 47)]  # lower brows
    + _reversed_run(55, 59)  # nostrils
    + [(60, 72), (61, 71), (62, 70), (63, 69), (64, 68), (65, 75), (66, 74), (67, 73)]
    + _reversed_run(76, 82)  # upper outer lip
    + _reversed_run(83, 87)  # lower outer lip
    + _reversed_run(88, 92)  # upper inner lip
    + [(93, 95)]  # lower inner lip
    + [(96, 97)]  # pupils
)

_COFW29_PAIRS = [
    (0, 1),
    (2, 3),
    (4, 6),
    (5, 7),
    (8, 9),
    (10, 11),
    (12, 14),
    (13, 15),
    (16, 17),
    (18, 19),
    (22, 23),
]

WFLW98 = Layout("wflw98", 98, (60, 72), ((96,), (97,)), _mirror(98, _WFLW98_PAIRS))
IBUG68 = Layout(
    "ibug68",
    68,
    (36, 45),
    (tuple(range(36, 42)), tuple(range(42, 48))),
    _mirror(68, _IBUG68_PAIRS),
)
COFW29 = Layout("cofw29", 29, (8, 9), ((16,), (17,)), _mirror(29, _COFW29_PAIRS))

LAYOUTS: dict[int, Layout] = {
    layout.num_landmarks: layout for layout in (WFLW98, IBUG68, COFW29)
}


def layout_for(num_landmarks: int) -> Layout:
    """Return the layout with ``num_landmarks`` points, or explain which exist."""
    try:
        return LAYOUTS[num_landmarks]
    except KeyError:
        known = ", ".join(str(n) for n in sorted(LAYOUTS))
        raise ValueError(
            f"No landmark layout with {num_landmarks} points; known layouts have {known}"
        ) from None
