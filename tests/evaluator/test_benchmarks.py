import numpy as np
import pytest

from evaluator.benchmarks import FORMATS, BenchmarkError, read_benchmark, read_pts

from .conftest import (
    FACES,
    coco_faces,
    cofw_arrays,
    keypoints,
    write_cofw_classic,
    write_cofw_hdf5,
    write_pts,
)


def test_it_reads_a_wflw_list_file_with_its_images(wflw_dir):
    benchmark = read_benchmark("wflw", wflw_dir)
    images, annotations = coco_faces("wflw")
    assert benchmark.num_landmarks == 98 and len(benchmark) == 4
    first = images[annotations[0]["image_id"]]["file_name"]
    assert benchmark.face_ids[0] == f"sample/{first}#0"
    assert [fid.rsplit("#", 1)[1] for fid in benchmark.face_ids] == ["0", "1", "2", "3"]
    np.testing.assert_allclose(
        benchmark.landmarks[2], keypoints(annotations[2]), atol=1e-3
    )
    x, y, w, h = annotations[1]["bbox"]
    np.testing.assert_allclose(benchmark.boxes[1], [x, y, x + w, y + h], atol=1e-3)
    assert list(benchmark.subsets) == [
        "pose",
        "expression",
        "illumination",
        "makeup",
        "occlusion",
        "blur",
    ]
    assert benchmark.subsets["pose"].tolist() == [False, True, False, True]
    assert benchmark.subsets["expression"].tolist() == [False, False, True, True]
    image = benchmark.load_image(0)
    assert image.shape == (
        images[annotations[0]["image_id"]]["height"],
        images[annotations[0]["image_id"]]["width"],
        3,
    )


def test_it_accepts_the_wflw_list_file_itself(wflw_dir):
    list_file = (
        wflw_dir
        / "WFLW_annotations"
        / "list_98pt_rect_attr_train_test"
        / "list_98pt_rect_attr_test.txt"
    )
    benchmark = read_benchmark("wflw", list_file)
    assert benchmark.image_paths[0].is_file()


def test_it_names_the_bad_line_of_a_wflw_list(tmp_path):
    (tmp_path / "list_98pt_rect_attr_test.txt").write_text("1 2 3 a.jpg\n")
    with pytest.raises(BenchmarkError, match="line 1: expected 207 columns"):
        read_benchmark("wflw", tmp_path)


def test_it_reads_300w_folders_with_one_based_pts(w300_dir):
    benchmark = read_benchmark("300w", w300_dir)
    images, annotations = coco_faces("300w")
    names = [images[a["image_id"]]["file_name"] for a in annotations]
    assert benchmark.face_ids == (f"helen/testset/{names[1]}", f"ibug/{names[0]}")
    by_id = dict(zip(benchmark.face_ids, benchmark.landmarks))
    np.testing.assert_allclose(
        by_id[f"ibug/{names[0]}"], keypoints(annotations[0]) - 1, atol=1e-3
    )
    assert (
        benchmark.subsets["challenging"].sum() == 1
        and benchmark.subsets["common"].sum() == 1
    )
    assert (benchmark.subsets["challenging"] != benchmark.subsets["common"]).all()
    assert benchmark.load_image(0).ndim == 3


def test_the_pts_convention_is_one_based(tmp_path):
    points = np.arange(136, dtype=float).reshape(68, 2) + 1
    write_pts(tmp_path / "a.pts", points)
    np.testing.assert_array_equal(read_pts(tmp_path / "a.pts"), points - 1)
    real = read_pts(FACES / "300vw" / "001" / "annot" / "000006.pts")
    assert real[0] == pytest.approx([742.224, 196.764])


def test_it_explains_a_pts_file_with_the_wrong_point_count(tmp_path):
    write_pts(tmp_path / "a.pts", np.ones((5, 2)))
    (tmp_path / "a.png").write_bytes(b"")
    with pytest.raises(BenchmarkError, match="expected 68 points"):
        read_benchmark("300w", tmp_path)


@pytest.mark.parametrize("writer", [write_cofw_hdf5, write_cofw_classic])
def test_it_reads_cofw_mat_files_old_and_new(tmp_path, writer):
    images, boxes, phis, truth = cofw_arrays()
    writer(tmp_path / "COFW_test_color.mat", images, boxes, phis)
    benchmark = read_benchmark("cofw", tmp_path)
    assert benchmark.face_ids == ("1", "2")
    assert benchmark.default_normaliser == "inter_pupil"
    np.testing.assert_allclose(benchmark.landmarks, truth, atol=1e-9)
    np.testing.assert_allclose(benchmark.boxes[0, :2], boxes[0, :2] - 1)
    np.testing.assert_allclose(
        benchmark.boxes[0, 2:] - benchmark.boxes[0, :2], boxes[0, 2:]
    )
    np.testing.assert_array_equal(benchmark.load_image(1), images[1])


def test_it_turns_grey_cofw_images_into_rgb(tmp_path):
    images, boxes, phis, _ = cofw_arrays()
    grey = [image[:, :, 0] for image in images]
    write_cofw_hdf5(tmp_path / "grey.mat", grey, boxes, phis)
    image = read_benchmark("cofw", tmp_path / "grey.mat").load_image(0)
    assert image.shape == (*grey[0].shape, 3)


def test_it_lists_missing_cofw_variables(tmp_path):
    from scipy.io import savemat

    savemat(tmp_path / "x.mat", {"phisT": np.zeros((1, 87))})
    with pytest.raises(BenchmarkError, match="missing variable.*IsT, bboxesT"):
        read_benchmark("cofw", tmp_path / "x.mat")


def test_formats_are_a_registry():
    assert set(FORMATS) == {"wflw", "300w", "cofw"}
    with pytest.raises(BenchmarkError, match="Unknown benchmark format 'aflw'"):
        read_benchmark("aflw", ".")
