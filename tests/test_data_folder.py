"""tinygen.data on a folder of image files: layout, labels, splits, colour modes, sizes, bad files.

Every folder is written here with Pillow, from tiny images (8x8 unless the test is about size).
"""
import numpy as np
import pytest
from image_files import flat_folder, grey, load, private_cache, save  # noqa: F401 (a fixture)
from PIL import Image

from tinygen.data import DataError, list_folder
from tinygen.data.split import held_out


# ---------------------------------------------------------------- layout and labels

def test_class_subfolders_give_sorted_labels_recursively(tmp_path):
    for name, value in (("dog", 10), ("cat", 20), ("emu", 30)):
        for i in range(4):
            save(tmp_path / "d" / name / ("deep" if i == 3 else "") / f"{i}.png", grey(value + i))
    parts = [load(tmp_path / "d", s, test_fraction=0.25) for s in ("train", "test")]
    assert parts[0].classes == parts[1].classes == ["cat", "dog", "emu"]
    assert (len(parts[0]), len(parts[1])) == (9, 3)
    x = np.concatenate([p.x for p in parts])[:, 0, 0, 0]
    y = np.concatenate([p.y for p in parts])
    assert sorted(x.tolist()) == [v + i for v in (10, 20, 30) for i in range(4)]
    np.testing.assert_array_equal(y, [{10: 1, 20: 0, 30: 2}[v // 10 * 10] for v in x])
    assert parts[0].x.dtype == np.uint8 and parts[0].shape == (1, 8, 8)


def test_images_directly_in_the_folder_are_unlabelled(tmp_path):
    ds = load(flat_folder(tmp_path / "f", 5))
    assert ds.y is None and ds.classes is None and ds.kind == "images" and ds.name == "f"


def test_loose_images_beside_class_folders_are_refused_naming_both(tmp_path):
    flat_folder(tmp_path / "m", 2)
    save(tmp_path / "m" / "cats" / "a.png", grey(1))
    with pytest.raises(DataError, match=r"m: mixes unlabelled images \(img00.png\).*\(cats/\)"):
        load(tmp_path / "m")


def test_train_and_test_subfolders_are_the_splits(tmp_path):
    for split, classes in (("train", ("a", "b", "c")), ("test", ("b", "c"))):
        for k, name in enumerate(classes):
            save(tmp_path / "s" / split / name / "0.png", grey(ord(name)))
    train, test = load(tmp_path / "s", "train"), load(tmp_path / "s", "test", test_fraction=0.5)
    assert train.classes == test.classes == ["a", "b", "c"]
    assert train.y.tolist() == [0, 1, 2] and test.y.tolist() == [1, 2]
    assert test.x[:, 0, 0, 0].tolist() == [ord("b"), ord("c")]
    assert "train/ and test/" in test.split_rule


@pytest.mark.parametrize("layout, message", [
    ({"train/a.png"}, r"images in train/ but none in test/"),
    ({"train/a.png", "test/b.png", "extra/c.png"}, r"also extra/c.png outside"),
    ({"train/x/a.png", "test/y/b.png"}, r"test/y: class 'y' has no folder in train/"),
    ({"train/x/a.png", "test/b.png"}, r"train/ has class sub-folders but the other"),
])
def test_incomplete_split_layouts_are_refused(tmp_path, layout, message):
    for rel in layout:
        save(tmp_path / "s" / rel, grey(5))
    with pytest.raises(DataError, match=message):
        load(tmp_path / "s")


def test_held_out_split_is_seeded_disjoint_and_complete(tmp_path):
    root = flat_folder(tmp_path / "f", 30)
    train, test = load(root, "train"), load(root, "test")
    values = lambda ds: ds.x[:, 0, 0, 0].tolist()  # noqa: E731
    assert len(test) == 3 and sorted(values(train) + values(test)) == list(range(30))
    assert values(load(root, "test")) == values(test)                 # same seed, same split
    assert values(load(root, "test", split_seed=1)) != values(test)   # another seed
    assert len(load(root, "test", test_fraction=0.5)) == 15
    assert "0.1 of the 30" in test.split_rule and "split_seed 0" in test.split_rule
    expected = held_out(30, 0.1, 0, "f")[1]                           # = the file order
    assert values(test) == expected.tolist()


def test_held_out_refuses_bad_fractions_and_a_single_example(tmp_path):
    with pytest.raises(DataError, match="test_fraction"):
        load(flat_folder(tmp_path / "f", 4), test_fraction=1.0)
    with pytest.raises(DataError, match="cannot be split"):
        load(flat_folder(tmp_path / "one", 1))


# ---------------------------------------------------------------- colour modes

def test_modes_grey_rgb_rgba_palette_become_rgb_with_alpha_on_black(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    rgba = np.dstack([rgb, np.linspace(0, 255, 64).reshape(8, 8).astype(np.uint8)])
    save(tmp_path / "f" / "a_grey.png", rgb[..., 0])
    save(tmp_path / "f" / "b_rgb.png", rgb)
    save(tmp_path / "f" / "c_rgba.png", rgba)
    palette = Image.fromarray(rgb).quantize(8)
    palette.save(tmp_path / "f" / "d_palette.png")
    x = np.concatenate([load(tmp_path / "f", s, test_fraction=0.25).x for s in ("train", "test")])
    assert x.shape == (4, 3, 8, 8)
    expect = [np.repeat(rgb[None, ..., 0], 3, 0), rgb.transpose(2, 0, 1),
              ((rgb.astype(int) * rgba[..., 3:] + 127) // 255).transpose(2, 0, 1),
              np.asarray(palette.convert("RGB")).transpose(2, 0, 1)]
    assert sorted(x.tolist()) == sorted(e.tolist() for e in expect)  # the split reorders


def test_channels_1_is_pillow_luma_and_alpha_composites_in_grey(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    rgba = np.dstack([rgb, np.full((8, 8), 100, np.uint8)])
    luma = np.asarray(Image.fromarray(rgb).convert("L")).astype(int)
    save(tmp_path / "g" / "a.png", rgb)
    save(tmp_path / "g" / "b.png", rgba)
    x = np.concatenate([load(tmp_path / "g", s, channels=1, test_fraction=0.5).x
                        for s in ("train", "test")])
    assert x.shape == (2, 1, 8, 8)
    composited = ((rgb.astype(int) * 100 + 127) // 255).astype(np.uint8)  # alpha first
    composited_luma = np.asarray(Image.fromarray(composited).convert("L")).astype(int)
    assert sorted(im[0].tolist() for im in x) == sorted([luma.tolist(), composited_luma.tolist()])


def test_all_grey_files_default_to_one_channel(tmp_path):
    values = np.arange(64, dtype=np.uint8).reshape(8, 8)
    save(tmp_path / "f" / "l.png", values)
    save(tmp_path / "f" / "la.png", np.dstack([values, np.full((8, 8), 128, np.uint8)]), "LA")
    Image.fromarray(values).convert("P").save(tmp_path / "f" / "p.gif")   # a grey palette
    save(tmp_path / "f" / "i16.png", values.astype(np.uint16) * 257)      # 16-bit grey
    parts = [load(tmp_path / "f", s, test_fraction=0.25) for s in ("train", "test")]
    x = np.concatenate([p.x for p in parts])
    assert x.shape == (4, 1, 8, 8)
    half = (values.astype(int) * 128 + 127) // 255
    assert sorted(im[0].tolist() for im in x) == sorted([values.tolist()] * 3 + [half.tolist()])


@pytest.mark.parametrize("suffix, exact, channels", [
    (".png", True, 1), (".bmp", True, 1), (".gif", True, 1), (".tif", True, 1),
    (".jpg", False, 1), (".JPEG", False, 1),
    (".webp", False, 3),   # WebP has no grey mode: Pillow reads grey pictures back as RGB
])
def test_every_common_format_is_read(tmp_path, suffix, exact, channels):
    values = np.tile(np.arange(0, 256, 32, dtype=np.uint8), (8, 1))
    for i in range(2):
        save(tmp_path / "f" / f"{i}{suffix}", values)
    x = load(tmp_path / "f", test_fraction=0.5).x
    assert x.shape == (1, channels, 8, 8)
    for c in range(channels):
        if exact:
            np.testing.assert_array_equal(x[0, c], values)
        else:
            assert np.abs(x[0, c].astype(int) - values).max() <= 12


# ---------------------------------------------------------------- sizes

def test_mixed_sizes_name_two_files_and_suggest_image_size(tmp_path):
    save(tmp_path / "f" / "a.png", grey(1, (8, 8)))
    save(tmp_path / "f" / "b.png", grey(1, (8, 8)))
    save(tmp_path / "f" / "c.png", grey(1, (10, 12)))
    with pytest.raises(DataError, match=r"a.png is 8x8 \(HxW\), c.png is 10x12.*--image-size"):
        load(tmp_path / "f")


def test_image_size_resizes_the_shorter_side_and_crops_the_centre(tmp_path):
    wide = np.zeros((16, 32, 3), np.uint8)
    wide[:, 8:24] = (200, 100, 50)  # the centre 16x16 is one colour, the sides black
    for i in range(2):
        save(tmp_path / "f" / f"{i}.png", wide)
    save(tmp_path / "f" / "tall.png", np.full((40, 20, 3), 90, np.uint8))
    x = np.concatenate([load(tmp_path / "f", s, image_size=8, test_fraction=0.34).x
                        for s in ("train", "test")])
    assert x.shape == (3, 3, 8, 8) and x.nbytes == 3 * 3 * 8 * 8
    reference = np.asarray(Image.fromarray(wide).resize((16, 8), Image.Resampling.LANCZOS)
                           .crop((4, 0, 12, 8))).transpose(2, 0, 1)
    assert sum(np.array_equal(im, reference) for im in x) == 2
    assert sum(np.all(im == 90) for im in x) == 1


@pytest.mark.parametrize("size, kw, message", [
    ((4, 4), {}, r"a.png: images are 4x4 px \(HxW\), smaller than the 8..128.*--image-size"),
    ((8, 200), {}, r"images are 8x200 px \(HxW\), larger than the 8..128"),
    ((8, 8), {"image_size": 4}, r"image_size \(--image-size\) must be.*8..128.*got 4"),
    ((8, 8), {"image_size": 129}, r"image_size .*got 129"),
    ((8, 8), {"channels": 2}, r"channels \(--channels\) must be 1 .* or 3 .*got 2"),
])
def test_sizes_and_channels_out_of_range_are_refused(tmp_path, size, kw, message):
    save(tmp_path / "f" / "a.png", grey(3, size))
    save(tmp_path / "f" / "b.png", grey(3, size))
    with pytest.raises(DataError, match=message):
        load(tmp_path / "f", **kw)


# ---------------------------------------------------------------- bad files

def _corrupt(root):
    (root / "bad.png").write_bytes(b"this is not a png")
    return "bad.png"


def _truncated(root):
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    raw = save(root / "cut.png", noise).read_bytes()
    (root / "cut.png").write_bytes(raw[: len(raw) // 2])
    return "cut.png"


@pytest.mark.parametrize("spoil, fails_in", [(_corrupt, ["train", "test"]),  # at the survey
                                              (_truncated, ["test"])])        # at the decode
def test_unreadable_files_are_named_and_nothing_is_cached(tmp_path, private_cache, spoil,
                                                          fails_in):
    root = flat_folder(tmp_path / "f", 3)
    name = spoil(root)
    assert 0 in held_out(4, 0.5, 0, "")[1]   # the spoilt file, sorted first, is in test
    for split in ("train", "test"):
        if split in fails_in:
            with pytest.raises(DataError, match=f"{name}: cannot read this image.*--skip-bad"):
                load(root, split, image_size=8, test_fraction=0.5)
        else:
            assert len(load(root, split, image_size=8, test_fraction=0.5)) == 2
    written = list(private_cache.glob("*.npz")) if private_cache.exists() else []
    assert len(written) == 2 - len(fails_in)


@pytest.mark.parametrize("spoil", [_corrupt, _truncated])
def test_skip_bad_leaves_unreadable_files_out_and_says_so(tmp_path, spoil):
    root = flat_folder(tmp_path / "f", 9)
    name = spoil(root)
    parts = [load(root, s, image_size=8, skip_bad=True) for s in ("train", "test")]
    assert sum(len(p) for p in parts) == 9
    notes = [n for p in parts for n in p.notes if "unreadable" in n]
    assert len(notes) == 1 and f"skipped 1 unreadable image file(s) (skip_bad), e.g. {name}" \
        in notes[0]
    again = [load(root, s, image_size=8, skip_bad=True) for s in ("train", "test")]
    assert [n for p in again for n in p.notes if "unreadable" in n] == notes  # from the cache


def test_non_image_files_are_skipped_with_a_note_and_clutter_silently(tmp_path):
    root = flat_folder(tmp_path / "f", 4)
    (root / "README.txt").write_text("my pictures")
    (root / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / "Thumbs.db").write_bytes(b"\xd0\xcf")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "x.png").write_bytes(b"junk")
    ds = load(root)
    assert len(ds) + len(load(root, "test")) == 4
    assert [n for n in ds.notes if "skipped" in n] == \
        [f"{root}: skipped 1 file(s) without an image suffix, e.g. README.txt"]


def test_a_text_file_with_an_image_suffix_is_an_error(tmp_path):
    root = flat_folder(tmp_path / "f", 2)
    (root / "notes.jpg").write_text("not really a jpeg")
    with pytest.raises(DataError, match="notes.jpg: cannot read this image"):
        load(root)


def test_empty_folders_are_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty: no image files"):
        load(tmp_path / "empty")
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "README.md").write_text("hi")
    with pytest.raises(DataError, match=r"text: no image files .*other files, e.g. README.md"):
        load(tmp_path / "text")
    assert list_folder(flat_folder(tmp_path / "ok", 1)).files == ["img00.png"]
