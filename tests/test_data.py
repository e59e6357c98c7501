"""Input pipelines: resumable order, scaling, and every source kind with its errors."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from ganzoo.data import load_images, training_dataset
from ganzoo.data.sources import fit_each_to_shape, fit_to_shape
from ganzoo.errors import DataError


def batches(dataset, count):
    return [b.numpy() if not isinstance(b, tuple) else tuple(x.numpy() for x in b) for b in dataset.take(count)]


def test_stream_resumes_exactly_and_reshuffles_each_epoch():
    images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
    full = batches(training_dataset(images, 4, seed=1), 8)  # 32 examples: crosses 3 epochs
    resumed = batches(training_dataset(images, 4, seed=1, start_step=3), 5)
    for a, b in zip(full[3:], resumed):
        np.testing.assert_array_equal(a, b)
    values = np.round((np.concatenate(full).ravel() + 1) * 127.5).astype(int)
    epochs = [sorted(values[i : i + 10]) for i in (0, 10, 20)]
    assert all(e == list(range(10)) for e in epochs)  # each epoch visits every example once
    assert list(values[:10]) != list(values[10:20])  # in a new order
    other_seed = batches(training_dataset(images, 4, seed=2), 3)
    assert not all(np.array_equal(a, b) for a, b in zip(full, other_seed))


def test_stream_scales_to_unit_range_and_carries_labels():
    images = np.array([0, 255, 128, 0], np.uint8).reshape(4, 1, 1, 1)
    labels = np.array([0, 1, 2, 3], np.int32)
    x, y = batches(training_dataset(images, 4, seed=0, labels=labels), 1)[0]
    assert x.dtype == np.float32 and x.min() == -1.0 and x.max() == 1.0
    np.testing.assert_array_equal(np.round((x.ravel() + 1) * 127.5), images.ravel()[y])


def test_batch_larger_than_dataset():
    with pytest.raises(DataError, match="fewer than the batch size"):
        training_dataset(np.zeros((3, 2, 2, 1), np.uint8), 4, seed=0)


def test_fit_to_shape_crops_resizes_and_converts_channels():
    wide = np.zeros((1, 20, 40, 3), np.uint8)
    wide[:, :, 10:30] = 200  # the centre square survives the crop
    out = fit_to_shape(wide, (10, 10, 1))
    assert out.shape == (1, 10, 10, 1) and out.dtype == np.uint8
    assert out.min() == out.max() == 200
    assert fit_to_shape(np.full((2, 4, 4), 7, np.uint8), (4, 4, 3)).shape == (2, 4, 4, 3)


def test_images_of_mixed_sizes_are_fitted_as_one_by_one():
    # Runs of equal-sized images are fitted together; the result must not depend on the grouping.
    rng = np.random.default_rng(0)
    sizes = [(20, 30), (20, 30), (31, 17), (20, 30), (31, 17), (31, 17), (9, 9)]
    images = [rng.integers(0, 256, (*size, 3), dtype=np.uint8) for size in sizes]
    fitted = fit_each_to_shape(images, (8, 8, 3))
    assert fitted.shape == (7, 8, 8, 3) and fitted.dtype == np.uint8
    np.testing.assert_array_equal(fitted, np.concatenate([fit_to_shape(image[None], (8, 8, 3)) for image in images]))
    assert fit_each_to_shape([], (8, 8, 3)).shape == (0, 8, 8, 3)


def test_tfds_mnist_from_shared_data(tfds_dir):
    data = load_images("tfds:mnist", (16, 16, 1), split="test", data_dir=str(tfds_dir), max_examples=100)
    assert data.images.shape == (100, 16, 16, 1) and data.labels.shape == (100,)
    assert data.num_classes == 10 and data.images.max() > 200
    more = load_images("tfds:mnist", (16, 16, 1), split="test", data_dir=str(tfds_dir), max_examples=300)
    np.testing.assert_array_equal(more.images[:100], data.images)  # the split's first images, whatever the count
    np.testing.assert_array_equal(more.labels[:100], data.labels)


def test_tfds_missing_dataset_is_one_clear_line(tmp_path):
    with pytest.raises(DataError, match="not prepared in .* downloading is off; point TFDS_DATA_DIR"):
        load_images("tfds:mnist", (8, 8, 1), data_dir=str(tmp_path), download=False)
    with pytest.raises(DataError, match="unknown tensorflow-datasets name"):
        load_images("tfds:no_such_dataset_xyz", (8, 8, 1), data_dir=str(tmp_path))


def test_tfds_download_from_an_unresolvable_host_fails_before_tfds_retries(tmp_path, monkeypatch, caplog):
    import socket
    import time

    from tensorflow_datasets.core.download import downloader

    from ganzoo.data import sources

    def no_name_service(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    def open_url(url, **kwargs):
        raise AssertionError(f"tfds went to the network for {url} (minutes of retries offline)")

    for proxy in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.setenv("no_proxy", "localhost")  # a bypass list alone is no proxy
    monkeypatch.setattr(sources.socket, "getaddrinfo", no_name_service)
    monkeypatch.setattr(downloader, "_open_url", open_url)
    with pytest.raises(DataError, match=r"download host storage.googleapis.com cannot be resolved \(offline\?\); "
                                        "point TFDS_DATA_DIR"):
        load_images("tfds:mnist", (8, 8, 1), data_dir=str(tmp_path))
    assert not [r for r in caplog.records if "Variant folder" in r.getMessage()]  # tfds's note on the empty dir

    urls = ["https://a.example/x.gz", "http://b.example/y.gz", "https://a.example/z.gz"]
    assert sources.unresolved_hosts(urls) == ["a.example", "b.example"]
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")  # the proxy resolves names
    monkeypatch.setenv("http_proxy", "http://proxy.example:3128")
    assert sources.unresolved_hosts(urls) == []

    def slow_name_service(host, *args, **kwargs):  # a resolver that answers after the timeout
        time.sleep(2.0)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    for proxy in ("http_proxy", "https_proxy"):
        monkeypatch.delenv(proxy)
    monkeypatch.setattr(sources.socket, "getaddrinfo", slow_name_service)
    monkeypatch.setattr(sources, "NAME_LOOKUP_TIMEOUT_S", 0.2)
    started = time.perf_counter()
    assert sources.unresolved_hosts(urls) == []  # not known to be unresolvable: tfds decides
    assert time.perf_counter() - started < 1.5


def test_tfds_images_of_different_sizes_are_fitted_one_by_one(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    from ganzoo.data import sources

    monkeypatch.setattr(sources, "_FIT_RUN", 2)  # fitted as they stream: runs of 2, 2 and 1
    # mock_data builds examples from the dataset's feature spec: random sizes for these images.
    with tfds.testing.mock_data(num_examples=5, policy=tfds.testing.MockPolicy.USE_CODE):
        raw = list(tfds.as_numpy(tfds.load("oxford_flowers102", split="train", data_dir=str(tmp_path))))
        data = load_images("tfds:oxford_flowers102", (16, 16, 3), data_dir=str(tmp_path))
        with pytest.raises(DataError, match="images of different sizes: give an image shape"):
            load_images("tfds:oxford_flowers102", None, data_dir=str(tmp_path))
    assert len({example["image"].shape for example in raw}) > 1
    expected = np.concatenate([fit_to_shape(example["image"][None], (16, 16, 3)) for example in raw])
    np.testing.assert_array_equal(data.images, expected)
    np.testing.assert_array_equal(data.labels, [example["label"] for example in raw])


def write_png(path, value, size=(6, 6)):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tf.io.encode_png(np.full(size + (3,), value, np.uint8)).numpy())


def test_image_folder_with_class_subfolders(tmp_path):
    write_png(tmp_path / "cats" / "a.png", 10)
    write_png(tmp_path / "dogs" / "b.png", 250, size=(8, 12))
    data = load_images(f"folder:{tmp_path}", (4, 4, 3))
    assert data.images.shape == (2, 4, 4, 3)
    np.testing.assert_array_equal(data.labels, [0, 1])
    assert data.images[0].max() == 10 and data.images[1].min() == 250


def test_corrupt_image_names_the_file(tmp_path):
    write_png(tmp_path / "good.png", 1)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match="corrupt or unreadable image: .*broken.png"):
        load_images(f"folder:{tmp_path}", (4, 4, 3))


def test_zip_source_reads_every_image_and_names_a_corrupt_member(tmp_path):
    import zipfile

    path = tmp_path / "faces.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for i, value in enumerate((10, 250)):
            archive.writestr(f"faces/{i}.png", tf.io.encode_png(np.full((6, 6, 3), value, np.uint8)).numpy())
        archive.writestr("faces/readme.txt", "not an image")
    data = load_images(f"zip:{path}", (4, 4, 3))
    assert data.images.shape == (2, 4, 4, 3) and data.labels is None
    assert data.images[0].max() == 10 and data.images[1].min() == 250
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("faces/broken.png", b"\x89PNG not really")
    with pytest.raises(DataError, match="corrupt or unreadable image: .*faces.zip:faces/broken.png"):
        load_images(f"zip:{path}", (4, 4, 3))
    (tmp_path / "bad.zip").write_bytes(b"no zip")
    with pytest.raises(DataError, match="not a readable zip file"):
        load_images(f"zip:{tmp_path / 'bad.zip'}", (4, 4, 3))


def test_folders_and_zips_are_fitted_in_bounded_runs_as_they_are_decoded(tmp_path, monkeypatch):
    import zipfile

    from ganzoo.data import sources

    rng = np.random.default_rng(1)
    members = [("a", (9, 12)), ("a", (9, 12)), ("b", (20, 7)), ("b", (9, 12)), ("b", (5, 5))]
    originals = [rng.integers(0, 256, (*size, 3), dtype=np.uint8) for _, size in members]
    with zipfile.ZipFile(tmp_path / "set.zip", "w") as archive:
        for i, ((label, _), pixels) in enumerate(zip(members, originals)):
            encoded = tf.io.encode_png(pixels).numpy()
            (tmp_path / "set" / label).mkdir(parents=True, exist_ok=True)
            (tmp_path / "set" / label / f"{i}.png").write_bytes(encoded)
            archive.writestr(f"set/{label}/{i}.png", encoded)
    expected = np.concatenate([fit_to_shape(pixels[None], (4, 4, 3)) for pixels in originals])
    runs = []
    fit_each = sources.fit_each_to_shape
    monkeypatch.setattr(sources, "fit_each_to_shape", lambda images, shape: runs.append(len(images)) or fit_each(images, shape))
    monkeypatch.setattr(sources, "_FIT_RUN", 2)
    folder = load_images(f"folder:{tmp_path / 'set'}", (4, 4, 3))
    np.testing.assert_array_equal(folder.images, expected)
    np.testing.assert_array_equal(folder.labels, [0, 0, 1, 1, 1])
    assert runs == [2, 2, 1]  # never more than a run decoded at full size
    np.testing.assert_array_equal(load_images(f"zip:{tmp_path / 'set.zip'}", (4, 4, 3)).images, expected)
    runs.clear()
    first = load_images(f"folder:{tmp_path / 'set'}", (4, 4, 3), max_examples=3)
    np.testing.assert_array_equal(first.images, expected[:3])
    np.testing.assert_array_equal(first.labels, [0, 0, 1])
    assert runs == [2, 1]  # decoding stopped at max_examples
    monkeypatch.setattr(sources, "_FIT_RUN_BYTES", 9 * 12 * 3)  # a run also ends at its bytes
    runs.clear()
    np.testing.assert_array_equal(load_images(f"zip:{tmp_path / 'set.zip'}", (4, 4, 3)).images, expected)
    assert runs == [1, 1, 1, 1, 1]


def test_npz_source(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, images=np.random.default_rng(0).random((5, 8, 8)).astype(np.float32), labels=np.arange(5))
    data = load_images(f"npz:{path}", (8, 8, 1))
    assert data.images.shape == (5, 8, 8, 1) and data.images.dtype == np.uint8
    np.savez(path, pictures=np.zeros((2, 2)))
    with pytest.raises(DataError, match="no 'images' array"):
        load_images(f"npz:{path}", (8, 8, 1))
    np.savez(path, images=np.full((2, 2, 2), 3.0))
    with pytest.raises(DataError, match="must be uint8, or floats in"):
        load_images(f"npz:{path}", (2, 2, 1))
