import numpy as np
import pytest
import torch

from evaluator.heatmaps import decode, gaussian_targets


def test_the_target_peaks_at_the_floor_of_the_quarter_position():
    maps = gaussian_targets(np.array([[101.9, 40.0], [0.0, 255.9]]))
    assert maps.shape == (2, 64, 64) and maps.dtype == np.float32
    assert np.unravel_index(maps[0].argmax(), maps[0].shape) == (10, 25)
    assert maps[0].max() == 1.0
    assert np.unravel_index(maps[1].argmax(), maps[1].shape) == (
        63,
        0,
    )  # border peak not moved
    assert np.count_nonzero(maps[0]) == 49
    assert maps[0, 10, 25 + 3] == pytest.approx(np.exp(-9 / (2 * 1.75**2)))


def test_a_landmark_outside_the_crop_gives_an_empty_map():
    assert gaussian_targets(np.array([[-30.0, 10.0]])).sum() == 0


def test_decoding_targets_returns_the_landmarks_within_two_crop_pixels():
    points = np.random.default_rng(0).uniform(8, 248, size=(20, 2))
    decoded = decode(gaussian_targets(points)[None])[0]
    assert np.abs(decoded - points).max() <= 2.0 + 1e-9


def test_the_official_rule_shifts_interior_peaks_by_a_quarter_pixel():
    maps = torch.zeros(1, 3, 64, 64)
    maps[0, 0, 10, 20] = 1.0
    maps[0, 0, 10, 21] = 0.5  # right neighbour larger: +0.25 in x
    maps[0, 0, 9, 20] = 0.5  # upper neighbour larger: -0.25 in y
    maps[0, 1, 0, 5] = 1.0
    maps[0, 1, 0, 6] = 0.5  # on the border: no shift
    maps[0, 2, 30, 30] = 1.0  # equal neighbours: no shift
    decoded = decode(maps)[0]
    np.testing.assert_array_equal(decoded[0], [4 * (20.25 + 0.5), 4 * (9.75 + 0.5)])
    np.testing.assert_array_equal(decoded[1], [4 * 5.5, 4 * 0.5])
    np.testing.assert_array_equal(decoded[2], [4 * 30.5, 4 * 30.5])


def test_the_local_soft_argmax_is_a_named_option_that_cuts_its_window_at_the_border():
    maps = torch.zeros(1, 2, 64, 64)
    maps[0, 0, 10, 20] = 1.0
    maps[0, 0, 10, 21] = 1.0
    maps[0, 1, 0, 0] = 1.0
    maps[0, 1, 0, 1] = 1.0
    decoded = decode(maps, "local_soft_argmax")[0]
    np.testing.assert_allclose(decoded[0], [4 * (20.5 + 0.5), 4 * 10.5])
    np.testing.assert_allclose(decoded[1], [4 * (0.5 + 0.5), 4 * 0.5])
    with pytest.raises(ValueError, match="Unknown decoder 'taylor'"):
        decode(maps, "taylor")
