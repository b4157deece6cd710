"""Readers on real data from MINIGAN_DATA, and on files written here in each format from real arrays."""

import gzip
import hashlib
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

from minigan.data import CHARSET_62, load, load_csv, load_idx, read_idx, write_csv, write_idx
from minigan.data import readers


def test_mnist_shapes_splits_counts_and_orientation(real_data, monkeypatch):
    monkeypatch.setenv("MINIGAN_DATA", str(real_data("mnist.npz").parent))
    ds = load("mnist")
    assert ds.images.shape == (70000, 28, 28) and ds.images.dtype == np.uint8
    assert ds.charset == "0123456789" and ds.writers is None
    train, test = load("mnist", split="train"), load("mnist", split="test")
    assert len(train) == 60000 and len(test) == 10000
    assert np.bincount(train.labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    x = train.images / 255.0
    assert abs(x.mean() - 0.1307) < 5e-4 and abs(x.std() - 0.3081) < 5e-4
    # Upright and not mirrored: a 6 is wide (its loop) low down, a 9 high up; a 7's bar is on top
    # and reaches right. Width = inked pixels of the class-mean image in a band of rows.
    mean = {d: train.images[train.labels == d].mean(axis=0) for d in (6, 7, 9)}
    width = {d: ((m[6:12] > 40).sum(), (m[16:22] > 40).sum()) for d, m in mean.items()}
    assert width[6][1] > 1.4 * width[6][0] and width[9][0] > 1.2 * width[9][1] and width[7][0] > 1.6 * width[7][1]
    assert mean[7][:10, 14:].sum() > mean[7][:10, :14].sum()
    with pytest.raises(ValueError, match="split must be"):
        load("mnist", split="validation")


def test_chars74k_shapes_labels_writers_and_orientation(real_data, monkeypatch):
    monkeypatch.setenv("MINIGAN_DATA", str(real_data("chars74k_hnd.npz").parent))
    ds = load("chars74k")
    assert ds.images.shape == (3410, 28, 28) and ds.charset == CHARSET_62
    assert np.all(np.bincount(ds.labels) == 55) and ds.num_writers == 55
    assert np.all(np.bincount(ds.writers) == 62)
    mean = {c: ds.images[ds.labels == CHARSET_62.index(c)].mean(axis=0) for c in "TLJ"}
    assert mean["T"][:10].sum() > 1.5 * mean["T"][18:].sum()  # T: bar on top
    assert mean["L"][18:].sum() > 1.2 * mean["L"][:10].sum()  # L: foot at the bottom...
    assert mean["L"][:, :12].sum() > 1.2 * mean["L"][:, 16:].sum()  # ...and stem on the left
    assert mean["J"][:, 14:].sum() > mean["J"][:, :14].sum()  # J: stem on the right
    with pytest.raises(ValueError, match="no splits"):
        load("chars74k", split="train")


def test_omniglot_named_set(real_data, monkeypatch):
    monkeypatch.setenv("MINIGAN_DATA", str(real_data("omniglot_28.npz").parent))
    ds = load("omniglot")
    assert ds.images.shape == (32460, 28, 28) and ds.num_classes == 1623 and ds.num_writers == 1000
    assert len(load("omniglot", split="background")) == 19280
    assert len(load("omniglot", split="evaluation")) == 13180


def test_named_sets_need_minigan_data(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIGAN_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="mnist.npz is not in MINIGAN_DATA"):
        load("mnist")
    monkeypatch.delenv("MINIGAN_DATA")
    with pytest.raises(FileNotFoundError, match="MINIGAN_DATA is not set"):
        load("chars74k")
    with pytest.raises(FileNotFoundError, match="not a named set"):
        load("emnist")


@pytest.fixture
def mnist_part(real_data):
    z = np.load(real_data("mnist.npz"))
    return z["images"][:3000], z["labels"][:3000]


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip_from_real_mnist(mnist_part, tmp_path, suffix):
    images, labels = mnist_part
    write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", images[:2000])
    write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", labels[:2000])
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", images[2000:])
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", labels[2000:])
    assert np.array_equal(read_idx(tmp_path / f"train-images-idx3-ubyte{suffix}"), images[:2000])
    ds = load(str(tmp_path / f"train-images-idx3-ubyte{suffix}"))  # finds its label file
    assert np.array_equal(ds.images, images[:2000]) and np.array_equal(ds.labels, labels[:2000])
    folder = load(str(tmp_path))
    assert np.array_equal(folder.images, images)  # train then test, as in mnist.npz
    assert len(load(str(tmp_path), split="test")) == 1000


def test_idx_damage_is_reported_with_the_file_name(mnist_part, tmp_path):
    images, _ = mnist_part
    good = tmp_path / "x-images-idx3-ubyte"
    write_idx(good, images[:10])
    raw = good.read_bytes()
    (tmp_path / "short-images-idx3-ubyte").write_bytes(raw[:-100])
    with pytest.raises(ValueError, match="short-images-idx3-ubyte: header says .* truncated"):
        read_idx(tmp_path / "short-images-idx3-ubyte")
    (tmp_path / "bad.gz").write_bytes(gzip.compress(raw)[:-30])
    with pytest.raises(ValueError, match="bad.gz: corrupt or truncated gzip"):
        read_idx(tmp_path / "bad.gz")
    (tmp_path / "text-images-idx3-ubyte").write_bytes(b"hello world, not idx")
    with pytest.raises(ValueError, match="text-images-idx3-ubyte: not an IDX file"):
        read_idx(tmp_path / "text-images-idx3-ubyte")
    write_idx(tmp_path / "x-labels-idx1-ubyte", np.zeros(7, np.uint8))  # 10 images, 7 labels
    with pytest.raises(ValueError, match="expected images"):
        load_idx(good)


def test_emnist_transposed_orientation_and_letter_labels(mnist_part, tmp_path):
    images, _ = mnist_part
    upright = images[:50]
    letters = np.arange(50) % 26 + 1  # EMNIST letters: 1..26
    write_idx(tmp_path / "emnist-letters-train-images-idx3-ubyte.gz", upright.transpose(0, 2, 1))
    write_idx(tmp_path / "emnist-letters-train-labels-idx1-ubyte.gz", letters.astype(np.uint8))
    ds = load(str(tmp_path / "emnist-letters-train-images-idx3-ubyte.gz"))
    assert np.array_equal(ds.images, upright)  # stored transposed, read upright
    assert ds.charset == "ABCDEFGHIJKLMNOPQRSTUVWXYZ" and ds.chars()[:3] == "ABC"
    write_idx(tmp_path / "emnist-byclass-test-images-idx3-ubyte", upright.transpose(0, 2, 1))
    write_idx(tmp_path / "emnist-byclass-test-labels-idx1-ubyte", (np.arange(50) + 10).astype(np.uint8))
    byclass = load(str(tmp_path / "emnist-byclass-test-images-idx3-ubyte"))
    assert byclass.charset == CHARSET_62 and byclass.chars()[0] == "A"


def test_csv_round_trip_kaggle_and_mnist_layouts(mnist_part, tmp_path):
    images, labels = mnist_part
    write_csv(tmp_path / "mnist_train.csv", images[:300], labels[:300])
    ds = load(str(tmp_path / "mnist_train.csv"))
    assert np.array_equal(ds.images, images[:300]) and np.array_equal(ds.labels, labels[:300])
    assert ds.charset == "0123456789"
    az = tmp_path / "A_Z Handwritten Data.csv"
    write_csv(az, images[:300], np.arange(300) % 26)
    text = az.read_text()
    az.write_text("label," + ",".join(f"p{i}" for i in range(784)) + "\n" + text)  # with a header row
    kaggle = load_csv(az)
    assert kaggle.charset == "ABCDEFGHIJKLMNOPQRSTUVWXYZ" and kaggle.chars()[:3] == "ABC"
    assert np.array_equal(kaggle.images, images[:300])
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3\n4,5,6\n")
    with pytest.raises(ValueError, match="bad.csv: expected rows of a label then a square image"):
        load_csv(bad)
    write_csv(bad, images[:2], [0, 30])
    with pytest.raises(ValueError, match="bad.csv: labels span 0..30"):
        load_csv(bad)


def test_image_folder_reader(real_data, tmp_path):
    z = np.load(real_data("chars74k_hnd.npz"))
    for ch in "AB":
        for w in range(3):
            folder = tmp_path / ch / f"writer{w}"
            folder.mkdir(parents=True)
            i = CHARSET_62.index(ch) * 55 + w
            Image.fromarray(255 - z["images64"][i]).save(folder / "0.png")  # black ink on white, 64x64
    ds = load(str(tmp_path))
    assert ds.images.shape == (6, 28, 28) and ds.charset == "AB" and ds.chars() == "AAABBB"
    assert ds.num_writers == 3 and not (ds.images[:, 0, 0] > 0).any()  # inverted to white on black
    ref = z["images"][[10 * 55, 10 * 55 + 1]].astype(float)
    assert np.corrcoef(ds.images[:2].ravel(), ref.ravel())[0, 1] > 0.7  # same glyphs as the 28x28 set
    (tmp_path / "bad name").mkdir()
    with pytest.raises(ValueError, match="bad name"):
        load(str(tmp_path))


def test_npz_errors_and_polarity(tmp_path):
    np.savez(tmp_path / "nolabels.npz", images=np.zeros((2, 8, 8), np.uint8))
    with pytest.raises(ValueError, match="nolabels.npz: missing array"):
        load(str(tmp_path / "nolabels.npz"))
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="junk.npz: not an .npz archive"):
        load(str(tmp_path / "junk.npz"))
    paper = np.full((4, 16, 16), 255, np.uint8)
    paper[:, 4:12, 7:9] = 0
    np.savez(tmp_path / "dark.npz", images=paper, labels=np.arange(4))
    with pytest.warns(UserWarning, match="inverting"):
        ds = load(str(tmp_path / "dark.npz"))
    assert ds.images[0, 0, 0] == 0 and ds.images[0, 6, 7] == 255
    with pytest.raises(ValueError, match="unknown format"):
        (tmp_path / "a.txt").write_text("x")
        load(str(tmp_path / "a.txt"))


def test_mnist_download_checks_and_offline_message(mnist_part, tmp_path, monkeypatch):
    def offline(url, timeout=None):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(ConnectionError, match="put them in"):
        readers.download_mnist(tmp_path)

    class Tampered:
        def __init__(self, *a, **k):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def read(self):
            return b"not the real file"

    monkeypatch.setattr(urllib.request, "urlopen", Tampered)
    with pytest.raises(ConnectionError, match="checksum mismatch"):
        readers.download_mnist(tmp_path)
    assert not (tmp_path / "train-images-idx3-ubyte.gz").exists()  # nothing unverified is kept

    # Files already in place with the right checksums are used as they are and converted.
    images, labels = mnist_part
    parts = {
        "train-images": images[:2000],
        "train-labels": labels[:2000],
        "t10k-images": images[2000:],
        "t10k-labels": labels[2000:],
    }
    sums = {}
    for stem, array in parts.items():
        name = f"{stem}-idx{3 if 'images' in stem else 1}-ubyte.gz"
        write_idx(tmp_path / name, array)
        sums[name] = hashlib.md5((tmp_path / name).read_bytes()).hexdigest()
    monkeypatch.setattr(readers, "MNIST_FILES", sums)
    out = readers.download_mnist(tmp_path)
    monkeypatch.setenv("MINIGAN_DATA", str(tmp_path))
    assert out.name == "mnist.npz" and len(load("mnist", split="test")) == 1000
