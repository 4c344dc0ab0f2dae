"""Your own 2-D points (points:FILE.csv): the accepted shapes, every refusal with its words, the dataset they make,
and a run that keeps its own copy, refusing to resume on points that changed under it."""

from __future__ import annotations

import itertools
import re
import shutil

import numpy as np
import pytest
import torch
from conftest import tiny_toy_config

from ganplay import point_store
from ganplay.config import ConfigError
from ganplay.data import dataset_info, load_dataset
from ganplay.image_files import DatasetError
from ganplay.point_files import MAX_POINT_BYTES, MAX_POINT_ROWS, RUN_COPY, parse_points, parse_points_bytes, read_points
from ganplay.point_store import save_points
from ganplay.presets import make_config


def blobs(n: int = 30, seed: int = 0) -> np.ndarray:
    """n points in each of three blobs, in units far from [-1, 1]."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(c, 2.0, (n, 2)) for c in ((100, 50), (140, 50), (120, 90))])


def write_csv(path, points, labels=None, header=None, sep=","):
    header = ("x,y" if labels is None else "x,y,label") if header is None else header
    rows = [header] if header else []
    for i, (x, y) in enumerate(points):
        rows.append(sep.join([repr(float(x)), repr(float(y))] + ([str(labels[i])] if labels is not None else [])))
    path.write_text("\n".join(rows) + "\n")
    return path


def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


@pytest.mark.parametrize(
    "text",
    [
        "x,y\n" + "".join(f"{i},{i * i}\n" for i in range(12)),  # a header
        "".join(f"{i},{i * i}\n" for i in range(12)),  # none
        "# my points\n\n" + "".join(f"{i}\t{i * i}\n" for i in range(12)),  # tabs, a comment and a blank line
        "".join(f"{i};{i * i}\n" for i in range(12)),  # semicolons
        "".join(f"  {i}   {i * i}\n" for i in range(12)),  # spaces
        "\ufeffx , y\r\n" + "".join(f" {i} , {i * i} \r\n" for i in range(12)),  # a BOM, Windows lines, padding
    ],
)
def test_the_accepted_shapes_read_the_same_points(text):
    table = parse_points(lines(text.removeprefix("\ufeff")), "pts.csv")
    assert table.xy.tolist() == [[i, i * i] for i in range(12)] and table.class_names == ()
    assert parse_points_bytes(text.encode("utf-8"), "pts.csv").fingerprint == table.fingerprint  # BOM and all


def test_labels_become_classes_in_a_natural_order_and_one_label_is_none():
    text = "".join(f"{i},{-i},{label}\n" for i, label in zip(range(12), itertools.cycle(["10", "2", "2"])))
    table = parse_points(lines(text), "l.csv")
    assert table.class_names == ("2", "10")  # numbers by value, not as text
    assert table.labels.tolist() == [1, 0, 0] * 4
    named = parse_points(lines("x,y,kind\n" + "".join(f"{i},0,{'cat' if i % 2 else 'dog'}\n" for i in range(12))), "n")
    assert named.class_names == ("cat", "dog") and named.labels[:2].tolist() == [1, 0]
    single = parse_points(lines("".join(f"{i},{i},a\n" for i in range(12))), "s.csv")
    assert single.class_names == () and (single.labels == 0).all()


@pytest.mark.parametrize(
    "text, words",
    [
        ("name,city\nbob,paris\nann,rome\n", "holds no numbers: line 2 reads 'bob,paris'"),
        ("1.5\n2.5\n3.5\n", "line 1: one column ('1.5'); a points file needs two, x and y"),
        ("x,y\n1,2\nnan,3\n", "line 3: x is nan; every x and y must be a finite number"),
        ("1,2\n3,inf\n", "line 2: y is inf; every x and y must be a finite number"),
        ("1,2\n3,4\n5,seven\n", "line 3: y 'seven' is not a number"),
        ("1,2\n3,4,5\n", "line 2: 3 fields where the first line has 2"),
        ("x,y,label\n1,2\n", "line 2: 2 fields where the header (line 1) has 3"),
        ("1,2,3,4\n", "line 1: 4 columns; a points file has x,y or x,y,label"),
        ("1,2,a\n3,4,\n", "line 2: the label is empty"),
        ("# a, comment\n,,\n1,2\n,\n" + "".join(f"{i},{i}\n" for i in range(3)), "holds 4 points"),
        ("x,y\n", "holds no points"),
        ("".join(f"{i},{i}\n" for i in range(9)), "holds 9 points; at least 10 are needed"),
        ("".join("3,4\n" for _ in range(12)), "all 12 points are (3, 4); they need some spread"),
        ("".join(f"{i},0,{i}\n" for i in range(101)), "101 distinct labels; at most 100"),
    ],
)
def test_a_bad_csv_is_refused_with_its_line_and_what_to_do(text, words):
    with pytest.raises(DatasetError, match="^bad.csv") as err:
        parse_points(lines(text), "bad.csv")
    assert words in str(err.value)


def test_ten_million_rows_are_refused_before_they_are_read(tmp_path):
    # As a file: 10 million rows of x,y are well over the size limit, refused from the file's size alone.
    big = tmp_path / "big.csv"
    with open(big, "wb") as handle:
        handle.truncate(10_000_000 * len(b"0.123456,0.654321\n"))  # sparse: nothing written, nothing to read
    with pytest.raises(DatasetError, match=r"big.csv is 171.7 MiB; a points file may be at most 64 MiB and 1,000,000"):
        read_points(big)
    with pytest.raises(DatasetError, match="may be at most 64 MiB"):
        parse_points_bytes(b"0" * (MAX_POINT_BYTES + 1), "upload.csv")
    # Short rows fit the size limit: reading stops at the first point over the row limit, not at the 10 millionth.
    read = itertools.count()
    stream = (f"{next(read) % 7},{n % 5}\n" for n in range(10_000_000))
    with pytest.raises(DatasetError, match=f"holds more than {MAX_POINT_ROWS:,} points \\(line 1,000,001\\)"):
        parse_points(stream, "rows.csv")
    assert next(read) == MAX_POINT_ROWS + 1  # lines taken from the stream: the rest were never produced


@pytest.mark.parametrize(
    "name, words",
    [
        ("points:", "points: needs a CSV file"),
        ("points:/no/such/blobs.csv", "points file /no/such/blobs.csv does not exist"),
        ("points:~nosuchuser/b.csv", "no such user on this machine"),
        ("points:{tmp}/picture.png", "a points file is text named .csv, .tsv, .txt"),
        ("points:{tmp}", "is a folder; points: names a CSV file"),
        ("points:{tmp}/binary.csv", "binary.csv is a binary file, not a CSV"),
        ("points:{tmp}/latin.csv", "latin.csv is not UTF-8 text (byte 0xe9)"),
    ],
)
def test_a_file_that_is_not_a_points_csv_is_refused_by_the_form_the_config_and_the_loader(tmp_path, name, words):
    from PIL import Image

    Image.new("RGB", (4, 4)).save(tmp_path / "picture.png")
    (tmp_path / "binary.csv").write_bytes((tmp_path / "picture.png").read_bytes())
    (tmp_path / "latin.csv").write_bytes("x,y\n1,2\ncaf\xe9,3\n".encode("latin-1"))
    dataset = name.format(tmp=tmp_path)
    with pytest.raises(DatasetError, match=re.escape(words)):
        dataset_info(dataset)
    with pytest.raises(DatasetError, match=re.escape(words)):
        load_dataset(dataset)
    errors = make_config(dataset=dataset).errors()
    assert words in errors["dataset"] and set(errors) == {"dataset"}


def test_the_fingerprint_follows_the_numbers_not_the_formatting(tmp_path):
    points = blobs()
    a = read_points(write_csv(tmp_path / "a.csv", points))
    b = read_points(write_csv(tmp_path / "b.csv", points, header="", sep="\t"))
    assert a.fingerprint == b.fingerprint
    moved = points.copy()
    moved[7, 1] += 1e-9
    assert read_points(write_csv(tmp_path / "c.csv", moved)).fingerprint != a.fingerprint
    labelled = read_points(write_csv(tmp_path / "d.csv", points, labels=[i // 30 for i in range(90)]))
    assert labelled.fingerprint != a.fingerprint
    copy = parse_points(lines(labelled.to_csv()), "copy")  # the canonical file reads back exactly
    assert copy.fingerprint == labelled.fingerprint and np.array_equal(copy.xy, points)


def test_a_points_file_is_a_2d_toy_scaled_into_the_plane(tmp_path):
    path = write_csv(tmp_path / "three.csv", blobs(), labels=["a"] * 30 + ["b"] * 30 + ["c"] * 30)
    info = dataset_info(f"points:{path}")
    assert info["kind"] == "toy" and info["labelled"] and info["title"] == "Points in three.csv"
    data = load_dataset(f"points:{path}", seed=3)
    assert data.kind == "toy" and data.shape == (2,) and data.scale == 1.0 and data.class_names == ("a", "b", "c")
    assert data.points.abs().max() == pytest.approx(1.0) and data.label_prior == pytest.approx((1 / 3,) * 3)
    assert "90 points, 3 labels" in data.note and "sha256" in data.note and "x' = (x - " in data.note
    x, y = data.batch(5, 256)
    again, _ = load_dataset(f"points:{path}", seed=3).batch(5, 256)
    assert torch.equal(x, again) and not torch.equal(x, data.batch(6, 256)[0])  # a pure function of (seed, draw)
    nearest = torch.cdist(x, data.points).argmin(1)
    assert torch.equal(data.labels[nearest], y)  # each drawn point keeps its own point's label
    assert (x - data.points[nearest]).norm(dim=1).max() < 6 * data.jitter


def test_labels_allow_conditional_and_clusters_are_refused_as_for_ring8(tmp_path):
    labelled = write_csv(tmp_path / "l.csv", blobs(), labels=[i // 30 for i in range(90)])
    plain = write_csv(tmp_path / "p.csv", blobs())
    assert make_config(dataset=f"points:{labelled}", conditional=True).errors() == {}
    assert make_config(dataset=f"points:{labelled}").arch == "mlp"  # the toys' defaults
    errors = make_config(dataset=f"points:{plain}", conditional=True).errors()
    assert errors == {"conditional": f"conditional needs class labels and points:{plain} has none"}
    errors = make_config(dataset=f"points:{labelled}", clusters=3).errors()
    assert "draws fresh 2-D points" in errors["clusters"]


def test_saved_points_are_reused_never_replaced(tmp_path):
    table = parse_points(lines("".join(f"{i},{i % 3}\n" for i in range(20))), "the drawing")
    path = save_points(table, "mine", tmp_path)
    assert path == tmp_path / "mine.csv" and read_points(path).fingerprint == table.fingerprint
    assert save_points(table, "mine.csv", tmp_path) == path  # the same points: the same file
    other = parse_points(lines("".join(f"{i},{i % 4}\n" for i in range(20))), "another drawing")
    before = path.read_bytes()
    with pytest.raises(DatasetError, match="mine.csv already holds other points; pick another name"):
        save_points(other, "mine", tmp_path)
    for bad in ("", "../escape", "a/b", ".hidden", "x" * 65):
        with pytest.raises(DatasetError, match="must be 1-64 letters"):
            save_points(other, bad, tmp_path)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["mine.csv"]  # no temp left
    assert point_store.saved_points_files(tmp_path) == [path]


def test_a_run_keeps_its_points_and_will_not_resume_on_changed_ones(tmp_path, registry):
    path = write_csv(tmp_path / "blobs.csv", blobs(), header="", sep="\t")  # not the canonical format
    cfg = tiny_toy_config(dataset=f"points:{path}", steps=4, checkpoint_every=4, sample_every=2)
    run = registry.start(cfg, name="mine")
    assert run.wait(60) and run.snapshot().error == ""
    copy = registry.root / "mine" / RUN_COPY
    assert read_points(copy).fingerprint == read_points(path).fingerprint
    original = path.read_bytes()

    moved = blobs()
    moved[0, 0] += 1.0
    write_csv(path, moved)  # edited after the run started
    resumed = registry.resume("mine", steps=6)
    assert resumed.wait(60)
    error = resumed.snapshot().error
    assert "has changed since this run started" in error and f"{copy} holds them: copy it over {path}" in error
    assert resumed.snapshot().step == 4  # no step was trained on the changed points

    shutil.copy(copy, path)  # what the message says to do: the same points, in the canonical format
    assert path.read_bytes() != original
    again = registry.resume("mine", steps=6)
    assert again.wait(60) and again.snapshot().error == "" and again.snapshot().step == 6

    path.unlink()  # gone: the resume is refused at once, saying where the run's points are kept
    with pytest.raises(ConfigError, match=r"does not exist \(a run keeps a copy of its points as its points.csv\)"):
        registry.resume("mine", steps=8)
    shutil.copy(copy, path)
    last = registry.resume("mine", steps=8)  # the refusal left nothing held: the run resumes once the file is back
    assert last.wait(60) and last.snapshot().error == "" and last.snapshot().step == 8


def test_a_config_error_names_the_points_file_before_anything_starts(tmp_path, registry):
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n2,nan\n")
    values = {**tiny_toy_config().to_dict(), "dataset": f"points:{bad}"}
    with pytest.raises(ConfigError, match="line 3: y is nan"):
        registry.start(make_config(**values))
    assert registry.list_runs() == []
