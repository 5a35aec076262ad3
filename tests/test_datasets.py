"""The input pipelines: exact image counts, shapes, labels, sharding, the digits cache and error lines."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import (CIFAR_FILES, CIFAR_RECORD_BYTES, CIFAR_RECORDS, IMAGENET_CLASSES, IMAGENET_TRAIN_PER_CLASS,
                      IMAGENET_VAL_PER_CLASS, PROJECT_ROOT, cifar_records)
from googlenet_bench.datasets import build_split, cifar10, digits, validate_data
from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.suites import SCHEMA

ZOO_CIFAR_MEAN = np.array([0.4914, 0.4822, 0.4465])
ZOO_CIFAR_STD = np.array([0.2023, 0.1994, 0.2010])


def make_config(**overrides) -> dict:
    config = {key: field.default for key, field in SCHEMA.items()}
    config.update(overrides)
    return config


def cifar_config(directory, **overrides) -> dict:
    return make_config(**{"dataset": "cifar10", "data": str(directory), "image_size": 32, **overrides})


def batches(split):
    yield from split.dataset.create_tuple_iterator(output_numpy=True, num_epochs=1)


def labels_of(split) -> np.ndarray:
    return np.concatenate([labels for _, labels in batches(split)])


def cifar_ids(images: np.ndarray) -> np.ndarray:
    """The record ids conftest embeds, read back from normalised (N, 3, H, W) images."""
    centre = images[:, :2, images.shape[2] // 2, images.shape[3] // 2]
    high, low = np.rint(centre * np.array(cifar10.STD[:2]) + np.array(cifar10.MEAN[:2])).astype(int).T
    return high * 256 + low


def ids_of(split) -> np.ndarray:
    return np.concatenate([cifar_ids(images) for images, _ in batches(split)])


def file_labels(path) -> np.ndarray:
    return np.fromfile(path, dtype=np.uint8)[::CIFAR_RECORD_BYTES]


def raises_bench_error(config, *words):
    """Both entry points refuse the config with one line holding every word."""
    for call in (lambda: validate_data(config), lambda: build_split(config, "train")):
        with pytest.raises(BenchError) as caught:
            call()
        message = str(caught.value)
        assert "\n" not in message
        for word in words:
            assert word in message, message
    return message


@pytest.fixture
def cifar_copy(cifar10_dir, tmp_path):
    """A CIFAR folder of links to the session files, safe to break."""
    for name in CIFAR_FILES:
        (tmp_path / name).symlink_to(cifar10_dir / name)
    return tmp_path


# --- CIFAR-10 ---------------------------------------------------------------------------

def test_cifar_eval_scores_all_10000_test_images_in_file_order(cifar10_dir):
    split = build_split(cifar_config(cifar10_dir, batch_size=128), "eval")
    assert (split.images, split.batch_size, split.steps) == (10_000, 128, 79)
    assert split.source == f"CIFAR-10 binary at {cifar10_dir} (eval, 10000 images)"
    shapes, labels, ids = [], [], []
    for images, batch_labels in batches(split):
        shapes.append(images.shape)
        assert images.dtype == np.float32 and batch_labels.dtype == np.int32
        labels.append(batch_labels)
        ids.append(cifar_ids(images))
    assert len(shapes) == 79 and shapes[0] == (128, 3, 32, 32) and shapes[-1] == (10_000 - 78 * 128, 3, 32, 32)
    np.testing.assert_array_equal(np.concatenate(labels), file_labels(cifar10_dir / "test_batch.bin"))
    np.testing.assert_array_equal(np.concatenate(ids), np.arange(50_000, 60_000))


def test_cifar_eval_pixels_follow_the_zoo_normalisation(cifar10_dir):
    split = build_split(cifar_config(cifar10_dir, batch_size=4, eval_samples=4), "eval")
    images, _ = next(batches(split))
    raw = np.fromfile(cifar10_dir / "test_batch.bin", dtype=np.uint8, count=CIFAR_RECORD_BYTES)[1:]
    expected = (raw.reshape(3, 32, 32) / 255 - ZOO_CIFAR_MEAN[:, None, None]) / ZOO_CIFAR_STD[:, None, None]
    np.testing.assert_allclose(images[0], expected, atol=1e-5)


def test_cifar_eval_drop_remainder_reproduces_the_zoo_9984(cifar10_dir):
    split = build_split(cifar_config(cifar10_dir, batch_size=128, eval_drop_remainder=True), "eval")
    assert (split.images, split.steps) == (9_984, 78)
    assert len(labels_of(split)) == 9_984


def test_cifar_train_at_32_yields_distinct_shuffled_train_records(cifar10_dir):
    split = build_split(cifar_config(cifar10_dir, batch_size=128, train_samples=1000), "train")
    assert (split.images, split.steps) == (1000, 7)  # 7 whole batches; the rest is dropped
    shapes = set()
    ids = []
    for images, labels in batches(split):
        shapes.add((images.shape, images.dtype, labels.shape, labels.dtype))
        ids.append(cifar_ids(images))
    assert shapes == {((128, 3, 32, 32), np.dtype(np.float32), (128,), np.dtype(np.int32))}
    ids = np.concatenate(ids)
    # Without replacement (MindSpore's own shuffle=True + num_samples would repeat records).
    assert len(set(ids)) == len(ids) == 896
    assert ids.max() < 50_000 and not np.array_equal(ids, np.sort(ids))


def test_cifar_resizes_to_a_non_32_image_size(cifar10_dir):
    config = cifar_config(cifar10_dir, image_size=64, batch_size=32, train_samples=64, eval_samples=40)
    train, evaluation = build_split(config, "train"), build_split(config, "eval")
    assert [images.shape for images, _ in batches(train)] == [(32, 3, 64, 64)] * 2
    eval_batches = list(batches(evaluation))
    assert [images.shape for images, _ in eval_batches] == [(32, 3, 64, 64), (8, 3, 64, 64)]
    labels = np.concatenate([labels for _, labels in eval_batches])
    np.testing.assert_array_equal(labels, file_labels(cifar10_dir / "test_batch.bin")[:40])
    np.testing.assert_array_equal(cifar_ids(eval_batches[0][0]), np.arange(50_000, 50_032))


def test_cifar_shards_split_the_train_set_between_ranks(cifar10_dir):
    whole = [build_split(cifar_config(cifar10_dir, batch_size=128), "train", rank=r, world_size=2) for r in (0, 1)]
    assert [(s.images, s.steps) for s in whole] == [(25_000, 195)] * 2
    assert whole[1].source.endswith("(train, 25000 images, shard 1/2)")

    config = cifar_config(cifar10_dir, batch_size=100, train_samples=1000)  # caps each shard
    shards = [build_split(config, "train", rank=rank, world_size=2) for rank in (0, 1)]
    assert [s.images for s in shards] == [1000, 1000]
    ids = [ids_of(shard) for shard in shards]
    assert [len(set(i)) for i in ids] == [1000, 1000]
    assert not set(ids[0]) & set(ids[1])


def test_cifar_data_errors_name_the_path_and_the_fix(cifar_copy, tmp_path_factory):
    missing = tmp_path_factory.mktemp("elsewhere") / "nowhere"
    raises_bench_error(cifar_config(missing), f"CIFAR-10 data directory {missing} not found",
                       "data_batch_1.bin", "test_batch.bin", "--data DIR")
    raises_bench_error(make_config(dataset="cifar10", data=None), "cifar10", "--data DIR")

    (cifar_copy / "data_batch_3.bin").unlink()
    raises_bench_error(cifar_config(cifar_copy), f"{cifar_copy / 'data_batch_3.bin'} is missing", "re-extract")

    cifar_records(1000, 0, np.random.default_rng(1)).tofile(cifar_copy / "data_batch_3.bin")
    raises_bench_error(cifar_config(cifar_copy), f"{cifar_copy / 'data_batch_3.bin'} holds 1,000 records "
                       "(3,073,000 bytes); MindSpore needs exactly 10,000 (30,730,000 bytes)")

    (cifar_copy / "data_batch_3.bin").unlink()
    (cifar_copy / "data_batch_3.bin").symlink_to(cifar_copy / "data_batch_1.bin")
    (cifar_copy / "data_batch_6.bin").symlink_to(cifar_copy / "data_batch_1.bin")
    raises_bench_error(cifar_config(cifar_copy), "data_batch_6.bin", "move them out")


def test_cifar_labels_beyond_num_classes_are_refused(cifar10_dir):
    raises_bench_error(cifar_config(cifar10_dir, num_classes=5), "10 classes", "num_classes is 5",
                       "--set num_classes=10")


def test_a_shard_smaller_than_one_batch_is_refused(cifar10_dir):
    raises = pytest.raises(BenchError, match="fewer than one batch of 128: lower batch_size")
    with raises:
        build_split(cifar_config(cifar10_dir, batch_size=128, train_samples=100), "train")
    with pytest.raises(ValueError):
        build_split(cifar_config(cifar10_dir), "test")


# --- ImageNet folders ---------------------------------------------------------------------

def imagenet_config(root, **overrides) -> dict:
    return make_config(**{"dataset": "imagenet", "data": str(root), "image_size": 32, "num_classes": 1000,
                          **overrides})


def test_imagenet_folders_yield_every_image_with_folder_labels(imagenet_dir):
    config = imagenet_config(imagenet_dir, batch_size=4, eval_batch_size=4)
    train, evaluation = build_split(config, "train"), build_split(config, "eval")
    assert (train.images, train.steps) == (3 * IMAGENET_TRAIN_PER_CLASS, 3)
    assert (evaluation.images, evaluation.steps) == (3 * IMAGENET_VAL_PER_CLASS, 2)
    train_labels = []
    for images, labels in batches(train):
        assert images.shape == (4, 3, 32, 32) and images.dtype == np.float32 and labels.dtype == np.int32
        train_labels.append(labels)
    assert sorted(np.concatenate(train_labels)) == [0] * 4 + [1] * 4 + [2] * 4  # the .jpg one included
    eval_batches = list(batches(evaluation))
    assert [images.shape for images, _ in eval_batches] == [(4, 3, 32, 32), (2, 3, 32, 32)]
    assert np.concatenate([labels for _, labels in eval_batches]).tolist() == [0, 0, 1, 1, 2, 2]


@pytest.fixture
def imagenet_copy(imagenet_dir, tmp_path):
    return shutil.copytree(imagenet_dir, tmp_path / "imagenet")


def test_imagenet_layout_errors_name_the_path_and_the_layout(imagenet_copy, tmp_path):
    layout = "DIR/train/<class>/*.JPEG and DIR/val/<class>/*.JPEG"
    raises_bench_error(imagenet_config(tmp_path / "absent"), f"{tmp_path / 'absent'} not found", layout)
    raises_bench_error(make_config(dataset="imagenet", data=None), "--data DIR", layout)

    shutil.rmtree(imagenet_copy / "val" / IMAGENET_CLASSES[0])
    raises_bench_error(imagenet_config(imagenet_copy), f"{IMAGENET_CLASSES[0]} only in train/",
                       "same class folders")
    (imagenet_copy / "val" / "n99999999").mkdir()
    raises_bench_error(imagenet_config(imagenet_copy), "n99999999 only in val/")

    shutil.rmtree(imagenet_copy / "val")
    raises_bench_error(imagenet_config(imagenet_copy), f"{imagenet_copy / 'val'} not found", layout)

    for class_dir in (imagenet_copy / "train").iterdir():
        for path in class_dir.iterdir():
            if path.suffix != ".txt":
                path.unlink()
    raises_bench_error(imagenet_config(imagenet_copy), "3 class folders but no .jpeg/.jpg/.png files")
    shutil.rmtree(imagenet_copy / "train")
    (imagenet_copy / "train").mkdir()
    raises_bench_error(imagenet_config(imagenet_copy), f"{imagenet_copy / 'train'} holds no class folders")


def test_imagenet_more_class_folders_than_num_classes_is_refused(imagenet_dir):
    raises_bench_error(imagenet_config(imagenet_dir, num_classes=2), "3 classes (3 class folders",
                       "--set num_classes=3")


# --- ImageNet folders with corrupt image files ----------------------------------------------

CORRUPT_TRAIN_FILES = (f"train/{IMAGENET_CLASSES[0]}/{IMAGENET_CLASSES[0]}_random.JPEG",
                       f"train/{IMAGENET_CLASSES[1]}/{IMAGENET_CLASSES[1]}_truncated.JPEG")


@pytest.fixture
def imagenet_corrupt(imagenet_dir, tmp_path):
    """The ImageNet tree plus two corrupt train files: random bytes named .JPEG, and a real JPEG cut in half."""
    root = shutil.copytree(imagenet_dir, tmp_path / "imagenet")
    random_bytes, truncated = (root / name for name in CORRUPT_TRAIN_FILES)
    random_bytes.write_bytes(np.random.default_rng(30).integers(0, 256, 2000, dtype=np.uint8).tobytes())
    real = (root / "train" / IMAGENET_CLASSES[1] / f"{IMAGENET_CLASSES[1]}_0.JPEG").read_bytes()
    truncated.write_bytes(real[:len(real) // 2])
    return root


def raw_rows(survey, split) -> list[tuple[bytes, int]]:
    """What the reader's source yields before any transform, in order: (file bytes, label)."""
    import mindspore.dataset as ds

    from googlenet_bench.datasets import imagenet

    raw = imagenet.open_split(survey, split, ds.SequentialSampler(), 1)
    return [(image.tobytes(), int(label)) for image, label in raw.create_tuple_iterator(output_numpy=True, num_epochs=1)]


@pytest.mark.bad_input
def test_imagenet_corrupt_images_fail_before_training_naming_the_first(imagenet_corrupt):
    random_bytes, truncated = (imagenet_corrupt / name for name in CORRUPT_TRAIN_FILES)
    for config in (imagenet_config(imagenet_corrupt), imagenet_config(imagenet_corrupt, corrupt_images="fail")):
        raises_bench_error(config, f"ImageNet folders at {imagenet_corrupt}: 2 of 20 image files are corrupt",
                           f"first {random_bytes} (UnidentifiedImageError", "remove them",
                           "--set corrupt_images=skip")
    random_bytes.unlink()  # the truncated JPEG alone, which PIL's verify() passes and MindSpore cannot decode
    raises_bench_error(imagenet_config(imagenet_corrupt), "1 of 19 image files are corrupt", f"first {truncated} (",
                       "truncated", "--set corrupt_images=skip")


@pytest.mark.bad_input
def test_imagenet_corrupt_images_skipped_are_counted_and_left_out(imagenet_corrupt, imagenet_dir):
    from googlenet_bench.datasets import imagenet

    config = imagenet_config(imagenet_corrupt, batch_size=4, eval_batch_size=4, corrupt_images="skip")
    validate_data(config)
    survey = imagenet.survey(config)
    assert survey.images == {"train": 3 * IMAGENET_TRAIN_PER_CLASS, "eval": 3 * IMAGENET_VAL_PER_CLASS}
    assert survey.extra["skipped_corrupt"] == {"train": 2, "eval": 0}

    train = build_split(config, "train")
    assert (train.images, train.steps, train.skipped) == (12, 3, 2)
    assert train.source == f"ImageNet folders at {imagenet_corrupt} (train, 12 images, 2 corrupt images skipped)"
    labels = []
    for images, batch_labels in batches(train):  # the training transforms decode every image
        assert images.shape == (4, 3, 32, 32) and images.dtype == np.float32 and batch_labels.dtype == np.int32
        labels.append(batch_labels)
    assert sorted(np.concatenate(labels)) == [0] * 4 + [1] * 4 + [2] * 4

    # Exactly the clean files, in ImageFolderDataset's order with its labels: what the clean tree yields.
    clean = imagenet.survey(imagenet_config(imagenet_dir))
    assert raw_rows(survey, "train") == raw_rows(clean, "train")

    evaluation = build_split(config, "eval")  # no corrupt file in val/: read as before
    assert (evaluation.images, evaluation.skipped) == (6, 0)
    assert evaluation.source == f"ImageNet folders at {imagenet_corrupt} (eval, 6 images)"


@pytest.mark.bad_input
def test_imagenet_skipped_corrupt_images_shard_between_ranks(imagenet_corrupt):
    config = imagenet_config(imagenet_corrupt, batch_size=2, corrupt_images="skip")
    shards = [build_split(config, "train", rank=rank, world_size=2) for rank in (0, 1)]
    assert [(s.images, s.steps, s.skipped) for s in shards] == [(6, 3, 2)] * 2
    assert shards[1].source.endswith("(train, 6 images, shard 1/2, 2 corrupt images skipped)")
    labels = np.concatenate([labels_of(shard) for shard in shards])
    assert sorted(labels) == [0] * 4 + [1] * 4 + [2] * 4  # together, every clean image once


@pytest.mark.bad_input
def test_imagenet_skipping_a_corrupt_val_image_scores_the_clean_ones_exactly(imagenet_dir, tmp_path):
    root = shutil.copytree(imagenet_dir, tmp_path / "imagenet")
    (root / "val" / IMAGENET_CLASSES[1] / "empty.JPEG").write_bytes(b"")
    raises_bench_error(imagenet_config(root), "1 of 19 image files are corrupt", str(root / "val"))
    skipped = build_split(imagenet_config(root, eval_batch_size=4, corrupt_images="skip"), "eval")
    clean = build_split(imagenet_config(imagenet_dir, eval_batch_size=4), "eval")
    assert (skipped.images, skipped.steps, skipped.skipped) == (6, 2, 1)
    assert skipped.source == f"ImageNet folders at {root} (eval, 6 images, 1 corrupt image skipped)"
    pairs = list(zip(batches(skipped), batches(clean), strict=True))
    for (images, labels), (clean_images, clean_labels) in pairs:  # same files, same Decode/Resize/CenterCrop
        np.testing.assert_array_equal(labels, clean_labels)
        np.testing.assert_array_equal(images, clean_images)


@pytest.mark.bad_input
def test_imagenet_every_image_corrupt_in_a_split_is_refused_even_when_skipping(imagenet_dir, tmp_path):
    root = shutil.copytree(imagenet_dir, tmp_path / "imagenet")
    for path in (root / "val").glob("*/*"):
        if path.suffix != ".txt":
            path.write_bytes(b"not a jpeg")
    raises_bench_error(imagenet_config(root, corrupt_images="skip"),
                       f"every image file in {root / 'val'} is corrupt (6 files)")


@pytest.mark.bad_input
def test_imagenet_bytes_after_the_jpeg_end_marker_are_not_corruption(imagenet_dir, tmp_path):
    root = shutil.copytree(imagenet_dir, tmp_path / "imagenet")
    padded = root / "train" / IMAGENET_CLASSES[0] / f"{IMAGENET_CLASSES[0]}_0.JPEG"
    padded.write_bytes(padded.read_bytes() + b"\0" * 64 + b"trailer")  # MindSpore decodes these
    config = imagenet_config(root, batch_size=4)
    validate_data(config)
    split = build_split(config, "train")
    assert (split.images, split.skipped) == (12, 0) and len(labels_of(split)) == 12


# --- embedded digits ----------------------------------------------------------------------

def record_count(path) -> int:
    import mindspore.dataset as ds

    return ds.MindDataset(str(path)).get_dataset_size()


def partial_folders(cache):
    return [p.name for p in cache.iterdir() if ".partial-" in p.name]


def test_convert_digits_writes_the_stratified_1437_360_split_once(tmp_path):
    folder = digits.convert_digits(tmp_path)
    assert folder == tmp_path / digits.FOLDER
    assert record_count(folder / "train.mindrecord") == 1437
    assert record_count(folder / "test.mindrecord") == 360
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    time.sleep(0.01)
    assert digits.convert_digits(tmp_path) == folder
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == stamps
    assert partial_folders(tmp_path) == []


def test_convert_digits_that_loses_the_race_uses_the_winners_folder(tmp_path, monkeypatch):
    write_records = digits._write_records

    def write_then_lose(staging):
        write_records(staging)
        shutil.copytree(staging, tmp_path / digits.FOLDER)  # another rank renames first

    monkeypatch.setattr(digits, "_write_records", write_then_lose)
    folder = digits.convert_digits(tmp_path)
    assert folder == tmp_path / digits.FOLDER and record_count(folder / "test.mindrecord") == 360
    assert partial_folders(tmp_path) == []


RACER = """
import sys, time
from pathlib import Path
from googlenet_bench.datasets.digits import convert_digits
import mindspore.mindrecord, sklearn.model_selection  # pay the imports before the start line
cache, me, other = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
(cache / me).touch()
while not (cache / other).exists():
    time.sleep(0.005)
print(convert_digits(cache))
"""


def test_two_processes_converting_at_once_both_end_with_one_valid_cache(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    racers = [subprocess.Popen([sys.executable, "-c", RACER, str(tmp_path), me, other], cwd=PROJECT_ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for me, other in (("ready-a", "ready-b"), ("ready-b", "ready-a"))]
    results = [racer.communicate(timeout=120) for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0], [err[-2000:] for _, err in results]
    folder = tmp_path / digits.FOLDER
    assert [out.strip() for out, _ in results] == [str(folder)] * 2
    assert partial_folders(tmp_path) == []
    assert record_count(folder / "train.mindrecord") == 1437 and record_count(folder / "test.mindrecord") == 360


def test_digits_splits_hold_the_sklearn_digits_normalised_to_plus_minus_one():
    from PIL import Image
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    config = make_config(dataset="digits", data=None, image_size=32, batch_size=64)
    train, evaluation = build_split(config, "train"), build_split(config, "eval")
    assert (train.images, train.steps, evaluation.images, evaluation.steps) == (1437, 22, 360, 6)
    assert "digits" in train.source and "train, 1437 images" in train.source
    train_batches = list(batches(train))
    kinds = {(images.shape, images.dtype, labels.dtype) for images, labels in train_batches}
    assert kinds == {((64, 3, 32, 32), np.dtype(np.float32), np.dtype(np.int32))}

    x = load_digits()
    _, x_test, _, y_test = train_test_split(x.images, x.target, test_size=0.2, random_state=0, stratify=x.target)
    eval_batches = list(batches(evaluation))
    np.testing.assert_array_equal(np.concatenate([labels for _, labels in eval_batches]), y_test)
    first = eval_batches[0][0][0]
    assert first.min() >= -1 and first.max() <= 1
    np.testing.assert_array_equal(first[0], first[1])  # grey stored as three equal channels
    grey = Image.fromarray(np.rint(x_test[0] * 255 / 16).astype(np.uint8)).resize((32, 32), Image.BILINEAR)
    np.testing.assert_allclose(first[0] * 127.5 + 127.5, np.asarray(grey), atol=1e-3)


def test_digits_resize_to_image_size():
    config = make_config(dataset="digits", data=None, image_size=48, eval_batch_size=100, eval_samples=150)
    shapes = [images.shape for images, _ in batches(build_split(config, "eval"))]
    assert shapes == [(100, 3, 48, 48), (50, 3, 48, 48)]


def test_digits_refuse_a_data_path_and_too_few_classes(tmp_path):
    raises_bench_error(make_config(dataset="digits", data=str(tmp_path)), "embedded", "remove --data")
    raises_bench_error(make_config(dataset="digits", data=None, num_classes=5), "10 classes", "num_classes=10")
