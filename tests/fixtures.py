"""Tiny datasets written in the exact on-disk layouts torchvision reads, for offline tests.

Each writer fills the files with seeded random pixels and returns what it wrote, so a test can
compare what a loader returns with the source. Pass the same `root` as `data.root=<root>`:

    write_mnist(root)             root/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte
    write_mnist(root, fashion=True)  the same under root/FashionMNIST/raw/
    write_cifar10(root)           root/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}
    write_celeba(root)            root/celeba/img_align_celeba/000001.jpg ... and the five .txt files
    write_image_folder(root)      PNG/JPEG/BMP/GIF/WebP files in root and nested subfolders
    write_facades(root)           pix2pix's root/{train,val,test}/*.jpg, A | B side by side
    write_horse2zebra(root)       CycleGAN's root/{trainA,trainB,testA,testB}/*.jpg
    write_div2k(root)             root/DIV2K_train_HR/*.png and root/DIV2K_valid_HR/*.png
"""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np
from PIL import Image

# idx file magic numbers: 0x08 (unsigned byte) then the number of dimensions.
_IDX_IMAGES_MAGIC = 2051
_IDX_LABELS_MAGIC = 2049

CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose "
    "Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee "
    "Gray_Hair Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard "
    "Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair "
    "Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
).split()
CELEBA_LANDMARKS = (
    "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y "
    "leftmouth_x leftmouth_y rightmouth_x rightmouth_y"
).split()
CELEBA_IMAGE_SIZE = (178, 218)  # width, height of the aligned-and-cropped faces


def write_mnist(root, n: int = 64, fashion: bool = False, seed: int = 0):
    """Write MNIST (or Fashion-MNIST) idx files: n training and max(1, n // 4) test digits.

    Returns the training split as written: (images uint8 n x 28 x 28, labels int64 n).
    """
    rng = np.random.default_rng(seed)
    raw = Path(root) / ("FashionMNIST" if fashion else "MNIST") / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    written = None
    for split, count in (("train", n), ("t10k", max(1, n // 4))):
        images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=count).astype(np.int64)
        # Headers are big-endian int32: the magic number, then each dimension.
        (raw / f"{split}-images-idx3-ubyte").write_bytes(
            struct.pack(">iiii", _IDX_IMAGES_MAGIC, count, 28, 28) + images.tobytes()
        )
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(
            struct.pack(">ii", _IDX_LABELS_MAGIC, count) + labels.astype(np.uint8).tobytes()
        )
        if split == "train":
            written = (images, labels)
    return written


def write_cifar10(root, n_per_batch: int = 20, seed: int = 0):
    """Write CIFAR-10's python batches: five training batches and a test batch of n_per_batch.

    Returns the training split as written: (images uint8 N x 32 x 32 x 3, labels int64 N),
    N = 5 * n_per_batch, in data_batch_1..5 order.
    """
    rng = np.random.default_rng(seed)
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    train_images, train_labels = [], []
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        # A row is 1024 red, then 1024 green, then 1024 blue values, each plane row-major.
        planes = rng.integers(0, 256, size=(n_per_batch, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n_per_batch).tolist()
        batch = {
            b"batch_label": name.encode(),
            b"labels": labels,
            b"data": planes.reshape(n_per_batch, 3072),
            b"filenames": [f"{name}_{i}.png".encode() for i in range(n_per_batch)],
        }
        _write_python2_pickle(folder / name, batch)
        if name != "test_batch":
            train_images.append(planes.transpose(0, 2, 3, 1))
            train_labels += labels
    label_names = [b"airplane", b"automobile", b"bird", b"cat", b"deer",
                   b"dog", b"frog", b"horse", b"ship", b"truck"]
    meta = {b"num_cases_per_batch": n_per_batch, b"label_names": label_names, b"num_vis": 3072}
    _write_python2_pickle(folder / "batches.meta", meta)
    return np.concatenate(train_images), np.asarray(train_labels, dtype=np.int64)


def write_celeba(root, n: int = 12, seed: int = 0) -> list[Path]:
    """Write n 178x218 JPEG faces (000001.jpg ...) and CelebA's five annotation files.

    Partitions: for n >= 10 the last 2 images are 'test' and the 2 before them 'valid', the rest
    'train' (8 train for n=12); for n < 10 all are 'train'. (torchvision's CelebA cannot load a
    split of exactly one image.) Returns all image paths in file-name order.
    """
    rng = np.random.default_rng(seed)
    folder = Path(root) / "celeba"
    images_folder = folder / "img_align_celeba"
    images_folder.mkdir(parents=True, exist_ok=True)
    names = [f"{i:06d}.jpg" for i in range(1, n + 1)]
    paths = []
    for name in names:
        _smooth_random_image(rng, CELEBA_IMAGE_SIZE, "RGB").save(images_folder / name, quality=95)
        paths.append(images_folder / name)

    held_out = 2 if n >= 10 else 0
    partitions = [0] * (n - 2 * held_out) + [1] * held_out + [2] * held_out
    # The files' real formats: space separated, values padded to columns, counts and headers
    # on the first lines where CelebA has them (torchvision skips them with header=1).
    _write_lines(folder / "list_eval_partition.txt",
                 [f"{name} {part}" for name, part in zip(names, partitions)])
    _write_lines(folder / "identity_CelebA.txt",
                 [f"{name} {rng.integers(1, 10178)}" for name in names])
    _write_lines(folder / "list_attr_celeba.txt", [str(n), " ".join(CELEBA_ATTRIBUTES)] + [
        name + " " + " ".join(f"{value:2d}" for value in rng.choice([-1, 1], len(CELEBA_ATTRIBUTES)))
        for name in names
    ])
    _write_lines(folder / "list_bbox_celeba.txt", [str(n), "image_id x_1 y_1 width height"] + [
        f"{name} " + " ".join(f"{value:5d}" for value in rng.integers(1, 400, 4)) for name in names
    ])
    _write_lines(folder / "list_landmarks_align_celeba.txt", [str(n), " ".join(CELEBA_LANDMARKS)] + [
        f"{name} " + " ".join(f"{value:4d}" for value in rng.integers(60, 160, 10)) for name in names
    ])
    return paths


# (suffix, PIL mode) cycled through by write_image_folder: every format and mode a user's folder
# might hold, upper-case suffixes included.
IMAGE_FOLDER_FORMATS = (
    (".png", "RGB"), (".jpg", "RGB"), (".PNG", "L"), (".jpeg", "RGB"), (".png", "RGBA"),
    (".JPG", "RGB"), (".bmp", "RGB"), (".gif", "P"), (".webp", "RGB"), (".png", "LA"),
)


def write_image_folder(root, n: int = 10, size: tuple[int, int] = (40, 30), seed: int = 0):
    """Write n images of size (width, height) in root, root/a and root/a/b, plus a notes.txt.

    Formats and modes cycle through IMAGE_FOLDER_FORMATS. Returns the image paths, sorted.
    """
    rng = np.random.default_rng(seed)
    root = Path(root)
    folders = [root, root / "a", root / "a" / "b"]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    (root / "notes.txt").write_text("not an image; a loader must skip it\n")
    paths = []
    for i in range(n):
        suffix, mode = IMAGE_FOLDER_FORMATS[i % len(IMAGE_FOLDER_FORMATS)]
        path = folders[i % len(folders)] / f"image_{i:03d}{suffix}"
        _smooth_random_image(rng, size, mode).save(path)
        paths.append(path)
    return sorted(paths)


def _smooth_random_image(rng, size: tuple[int, int], mode: str) -> Image.Image:
    """Random colour blobs (low-resolution noise upscaled): compresses well, survives JPEG."""
    width, height = size
    coarse = rng.integers(0, 256, size=(max(2, height // 8), max(2, width // 8), 3), dtype=np.uint8)
    image = Image.fromarray(coarse, "RGB").resize((width, height), Image.BILINEAR)
    return image.convert(mode)


def _write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n")


class _Python2Pickler(pickle._Pickler):
    """Pickles bytes as Python 2 `str`, as in the real CIFAR files.

    Unpickled with encoding="latin1" (torchvision) the keys read 'data'; with encoding="bytes"
    (the CIFAR page's recipe) they read b'data', exactly like the originals.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def save_python2_str(self, value: bytes) -> None:
        if len(value) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(value)]) + value)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(value)) + value)
        self.memoize(value)

    dispatch[bytes] = save_python2_str


def _write_python2_pickle(path: Path, value) -> None:
    with open(path, "wb") as file:
        _Python2Pickler(file, protocol=2).dump(value)


def write_facades(root, size: int = 16, counts=(6, 2, 2), seed: int = 0) -> Path:
    """pix2pix's layout: root/{train,val,test}/<n>.jpg, each 2*size x size (photo A | labels B)."""
    rng = np.random.default_rng(seed)
    for split, count in zip(("train", "val", "test"), counts):
        (Path(root) / split).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            _smooth_random_image(rng, (2 * size, size), "RGB").save(Path(root) / split / f"{i + 1}.jpg")
    return Path(root)


def write_horse2zebra(root, size: int = 16, counts=(5, 4, 2, 2), seed: int = 0) -> Path:
    """CycleGAN's layout: root/trainA, trainB, testA, testB of size x size JPEGs."""
    rng = np.random.default_rng(seed)
    for folder, count in zip(("trainA", "trainB", "testA", "testB"), counts):
        (Path(root) / folder).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            _smooth_random_image(rng, (size, size), "RGB").save(Path(root) / folder / f"n{i:05d}.jpg")
    return Path(root)


def write_div2k(root, sizes=((40, 36), (48, 40), (36, 44)), valid=((32, 28),), seed: int = 0) -> Path:
    """DIV2K's layout (smaller): root/DIV2K_train_HR/0001.png ..., root/DIV2K_valid_HR/0801.png ..."""
    rng = np.random.default_rng(seed)
    for folder, shapes, first in (("DIV2K_train_HR", sizes, 1), ("DIV2K_valid_HR", valid, 801)):
        (Path(root) / folder).mkdir(parents=True, exist_ok=True)
        for i, size in enumerate(shapes):
            _smooth_random_image(rng, size, "RGB").save(Path(root) / folder / f"{first + i:04d}.png")
    return Path(root)
