import json

import numpy as np
import pytest

from evaluator.layouts import COFW29, IBUG68, LAYOUTS, WFLW98, layout_for
from evaluator.metrics import METRICS, auc, ced_curve, failure_rate, nme

from .conftest import DATA, FACES, coco_faces, keypoints

REFERENCE = json.loads((DATA / "metrics" / "reference.json").read_text())


def reference_case(layout: str) -> tuple[np.ndarray, np.ndarray]:
    return np.load(DATA / "metrics" / f"pred_{layout}.npy"), np.load(
        DATA / "metrics" / f"gt_{layout}.npy"
    )


@pytest.mark.parametrize("layout", ["98", "68", "29"])
@pytest.mark.parametrize("normaliser", ["inter_ocular", "inter_pupil"])
def test_it_equals_the_reference_values(layout, normaliser):
    expected = REFERENCE["layouts"][layout][normaliser]
    pred, gt = reference_case(layout)
    nmes = nme(pred, gt, normaliser)
    assert nmes.shape == (300,)
    np.testing.assert_allclose(
        nmes[:3], expected["per_image_nme_first3"], rtol=0, atol=1e-12
    )
    assert nmes.mean() == pytest.approx(expected["nme"], abs=1e-9)
    for t in ("0.1", "0.08"):
        assert failure_rate(nmes, float(t)) == pytest.approx(
            expected[f"fr@{t}"], abs=1e-9
        )
        assert auc(nmes, float(t)) == pytest.approx(expected[f"auc@{t}"], abs=1e-9)


def test_it_computes_a_hand_made_case():
    # 68 points, outer eye corners 10 px apart; every prediction off by (3, 4) = 5 px.
    gt = np.zeros((1, 68, 2))
    gt[0, 45, 0] = 10.0
    pred = gt + [3.0, 4.0]
    assert nme(pred, gt, "inter_ocular")[0] == pytest.approx(0.5)
    nmes = np.array([0.0, 0.05, 0.1, 0.2])
    assert failure_rate(nmes, 0.1) == 0.25  # 0.1 itself is not a failure
    x, y = ced_curve(nmes, 0.1)
    assert len(x) == 1001 and x[-1] == 0.1
    assert y[0] == 0.25 and y[500] == 0.5 and y[-1] == 0.75
    # CED is a step function: 1/4 on [0, 0.05), 1/2 on [0.05, 0.1), 3/4 at 0.1.
    assert auc(nmes, 0.1) == pytest.approx(0.25 * 0.5 + 0.5 * 0.5, abs=2e-3)
    assert auc(np.zeros(3), 0.1) == pytest.approx(1.0)


def test_it_uses_boxes_or_the_landmark_extent_for_the_bbox_normaliser():
    gt = np.array([[[0.0, 0.0], [4.0, 9.0]]])
    pred = gt + [6.0, 0.0]
    assert nme(pred, gt, "bbox")[0] == pytest.approx(1.0)
    assert nme(pred, gt, "bbox", boxes=[[0, 0, 12, 3]])[0] == pytest.approx(1.0)
    assert nme(pred, gt, "bbox", boxes=[[0, 0, 2, 2]])[0] == pytest.approx(3.0)


def test_it_checks_float_edge_of_the_ced_grid():
    x, _ = ced_curve(np.array([0.01]), 0.05)
    assert len(x) == 501 and x[-1] == 0.05


def test_it_does_not_depend_on_face_order():
    pred, gt = reference_case("98")
    order = np.random.default_rng(1).permutation(len(gt))
    nmes = nme(pred, gt)
    np.testing.assert_allclose(nme(pred[order], gt[order]), nmes[order])
    assert auc(nmes[order]) == auc(nmes)
    assert failure_rate(nmes[order]) == failure_rate(nmes)


@pytest.mark.parametrize("layout", ["98", "68", "29"])
@pytest.mark.parametrize("normaliser", ["inter_ocular", "inter_pupil", "bbox"])
def test_it_is_invariant_to_mirroring_with_the_landmark_swap(layout, normaliser):
    pred, gt = reference_case(layout)
    mirror = list(layout_for(int(layout)).mirror)

    def flip(points: np.ndarray) -> np.ndarray:
        flipped = points[:, mirror].copy()
        flipped[..., 0] = 1000.0 - flipped[..., 0]
        return flipped

    np.testing.assert_allclose(
        nme(flip(pred), flip(gt), normaliser), nme(pred, gt, normaliser)
    )


def test_the_mirror_permutations_are_involutions_that_keep_the_eye_pairs():
    for layout in LAYOUTS.values():
        mirror = layout.mirror
        assert sorted(mirror) == list(range(layout.num_landmarks))
        assert all(mirror[mirror[i]] == i for i in range(layout.num_landmarks))
        left, right = layout.outer_eye_corners
        assert mirror[left] == right
        assert [mirror[i] for i in layout.pupils[0]] == sorted(layout.pupils[1]) or {
            mirror[i] for i in layout.pupils[0]
        } == set(layout.pupils[1])


def test_the_98_point_mirror_agrees_with_the_68_point_one_on_the_common_subset():
    mapping = json.loads((FACES / "landmark_mappings.json").read_text())[
        "wflw98_to_ibug68"
    ]
    for i68, i98 in enumerate(mapping):
        assert WFLW98.mirror[i98] == mapping[IBUG68.mirror[i68]]


@pytest.mark.parametrize(
    ("folder", "layout"), [("wflw", WFLW98), ("300w", IBUG68), ("cofw", COFW29)]
)
def test_the_mirror_pairs_lie_on_opposite_sides_of_real_faces(folder, layout):
    # Along the eye axis, measured from the mean of the unpaired (midline) points,
    # the two members of every left-right pair must fall on opposite sides.
    _, annotations = coco_faces(folder)
    for annotation in annotations:
        points = keypoints(annotation)
        left, right = points[list(layout.outer_eye_corners)]
        axis = (right - left) / np.linalg.norm(right - left)
        midline = [i for i, j in enumerate(layout.mirror) if i == j]
        offset = points @ axis - (points[midline] @ axis).mean()
        pairs = [(i, j) for i, j in enumerate(layout.mirror) if i < j]
        assert all(np.sign(offset[i]) == -np.sign(offset[j]) for i, j in pairs)


def test_it_names_the_expected_and_actual_shapes():
    with pytest.raises(
        ValueError,
        match=r"Expected predictions of shape \(128, 98, 2\), got \(128, 68, 2\)",
    ):
        nme(np.zeros((128, 68, 2)), np.zeros((128, 98, 2)))
    with pytest.raises(ValueError, match="No landmark layout with 5 points"):
        nme(np.zeros((1, 5, 2)), np.zeros((1, 5, 2)))
    with pytest.raises(ValueError, match="Unknown normaliser 'eyes'"):
        nme(np.zeros((1, 98, 2)), np.ones((1, 98, 2)), "eyes")
    with pytest.raises(ValueError, match="NaN"):
        nme(np.full((1, 98, 2), np.nan), np.ones((1, 98, 2)))
    with pytest.raises(ValueError, match="zero for image 0"):
        nme(np.zeros((1, 98, 2)), np.zeros((1, 98, 2)))
    with pytest.raises(ValueError, match="positive threshold"):
        auc(np.array([0.1]), 0.0)


def test_metric_direction_is_data():
    assert METRICS["auc"].higher_is_better
    assert not METRICS["nme"].higher_is_better and not METRICS["fr"].higher_is_better
