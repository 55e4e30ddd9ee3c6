"""Tests of the Python package against the CLI (the reference), run by ctest.

Environment (set by CMake): LMMIQA_LIBRARY (the built liblmmiqa.so),
LMMIQA_CLI (the lmmiqa binary), LMMIQA_BINARY_DIR (for gen_samples),
LMMIQA_SOURCE_DIR, and LMMIQA_SHARED_DIR where the shared data exists.
"""

import ctypes
import json
import os
import struct
import subprocess
import sys
import threading

import numpy as np
import pytest

import lmmiqa

CLI = os.environ["LMMIQA_CLI"]
BIN = os.environ["LMMIQA_BINARY_DIR"]
SRC = os.environ["LMMIQA_SOURCE_DIR"]


@pytest.fixture(scope="session")
def samples(tmp_path_factory):
    d = tmp_path_factory.mktemp("samples")
    subprocess.run([os.path.join(BIN, "gen_samples"), str(d), "--size", "160x120"],
                   check=True, capture_output=True)
    paths = sorted(str(p) for p in d.iterdir() if p.suffix in (".png", ".jpg"))
    assert len(paths) >= 12
    return paths


def write_bmp(path, rgb):
    """A 24-bit bottom-up BMP of an (H, W, 3) uint8 array (lossless)."""
    h, w, _ = rgb.shape
    row = (w * 3 + 3) & ~3
    data = bytearray()
    for y in range(h - 1, -1, -1):
        line = rgb[y, :, ::-1].tobytes()
        data += line + b"\0" * (row - len(line))
    header = struct.pack("<2sIHHI", b"BM", 54 + len(data), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(data), 2835, 2835, 0, 0)
    with open(path, "wb") as f:
        f.write(header + info + data)


def cli(*args):
    return subprocess.run([CLI, *args], check=True, capture_output=True, text=True).stdout


def test_struct_layouts_match_c(tmp_path):
    """Every C struct the package mirrors with ctypes has the C compiler's
    size and field offsets: a field added in C without its twin here would
    make the library read past the Python object (a crash or garbage)."""
    from lmmiqa import _lib

    structs = {_lib.Image: "lmmiqa_image", _lib.ExtractorOptions: "lmmiqa_extractor_options",
               _lib.ScorerOptions: "lmmiqa_scorer_options",
               _lib.StoreOptions: "lmmiqa_store_options",
               _lib.RegressorConfig: "lmmiqa_regressor_config",
               _lib.ProtocolOptions: "lmmiqa_protocol_options",
               _lib.ProtocolRow: "lmmiqa_protocol_row", _lib.Metrics: "lmmiqa_metrics"}
    lines = ["#include <lmmiqa/lmmiqa.h>", "#include <stddef.h>", "#include <stdio.h>",
             "int main(void) {"]
    want = []
    for py, c in structs.items():
        lines.append(f'printf("{c} %zu\\n", sizeof({c}));')
        want.append(f"{c} {ctypes.sizeof(py)}")
        for name, _ in py._fields_:
            lines.append(f'printf("{c}.{name} %zu\\n", offsetof({c}, {name}));')
            want.append(f"{c}.{name} {getattr(py, name).offset}")
    lines.append("return 0; }")
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines) + "\n")
    exe = tmp_path / "layout"
    subprocess.run(["cc", "-std=c11", "-I", os.path.join(SRC, "include"), str(src), "-o",
                    str(exe)], check=True, capture_output=True)
    got = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split("\n")
    assert [g for g in got if g] == want


def test_version_and_extractors():
    assert lmmiqa.version().startswith("0.2.")
    names = lmmiqa.list_extractors()
    assert "brisque" in names and "clip-vit-b16" in names


def test_metric_equals_cli_bit_for_bit(samples):
    ref = json.loads(cli("score", "--format", "json", *samples))
    assert ref["model"]["name"] == "default-nss-livec"
    with lmmiqa.Metric() as m:
        got = m(samples)
        assert m.lower_better is False and m.score_range == (0.0, 100.0)
        assert m.name == ref["model"]["name"] and m.info["sha256"] == ref["model"]["sha256"]
    want = np.array([e["score"] for e in ref["images"]])
    assert got.dtype == np.float64
    assert np.array_equal(got, want), (got - want)


def test_brisque_svr_equals_cli(samples):
    shared = os.environ.get("LMMIQA_SHARED_DIR", "")
    model = os.path.join(shared, "models/brisque-live/allmodel")
    rng = os.path.join(shared, "models/brisque-live/allrange")
    if not os.path.exists(model):
        pytest.skip("shared BRISQUE model not found")
    ref = json.loads(cli("score", "--format", "json", "--brisque-model", model,
                         "--brisque-range", rng, *samples[:4]))
    m = lmmiqa.Metric(brisque_svr=(model, rng))
    assert m.lower_better is True
    assert np.array_equal(m(samples[:4]), [e["score"] for e in ref["images"]])


def test_own_score_equals_cli(samples, tmp_path):
    """A tiny CNNIQA from `lmmiqa fit`: its own score through Metric is the
    CLI's `score --own-score`, from files and from arrays alike."""
    labels = tmp_path / "labels.csv"
    labels.write_text("image,mos\n" + "".join(f"{p},{10 + 7 * i}\n"
                                              for i, p in enumerate(samples)))
    w = str(tmp_path / "cnniqa.safetensors")
    cli("fit", "--extractor", "cnniqa", "--dataset", str(labels), "--epochs", "1",
        "--patches", "2", "--fc", "8", "--threads", "1", "--out", w, "-q")
    ref = json.loads(cli("score", "--format", "json", "--own-score", "cnniqa", "--weights",
                         f"cnniqa={w}", *samples[:4]))
    with lmmiqa.Metric(own_score="cnniqa", weights={"cnniqa": w}) as m:
        assert m.name == "cnniqa-own-score" and m.info["kind"] == "own-score"
        assert m.score_range == (0.0, 1.0) and m.lower_better is False
        assert m.info == ref["model"]
        want = [e["score"] for e in ref["images"]]
        assert np.array_equal(m(samples[:4]), want)
        assert np.array_equal(m([open(p, "rb").read() for p in samples[:4]]), want)
    with pytest.raises(lmmiqa.InvalidArgument) as e:
        lmmiqa.Metric(own_score="cnniqa")
    assert "no weight file" in e.value.message
    with pytest.raises(lmmiqa.InvalidArgument) as e:
        lmmiqa.Metric(own_score="cnniqa", model="m.safetensors", weights={"cnniqa": w})
    assert "own_score" in e.value.message


def test_extractor_equals_cli_bit_for_bit(samples, tmp_path):
    out = tmp_path / "f.npy"
    cli("extract", "--extractor", "brisque", "--output", str(out), *samples)
    want = np.load(out)
    with lmmiqa.Extractor("brisque") as ex:
        assert ex.dim == 36 and ex.name == "brisque"
        assert len(ex.feature_names) == 36
        got = ex.extract(samples)
    assert got.dtype == np.float32 and got.shape == (len(samples), 36)
    assert got.tobytes() == want.tobytes()


def test_numpy_and_bytes_equal_file_input(tmp_path):
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:96, 0:128]
    base = 128 + 80 * np.sin(x / 9.0)[..., None] * np.cos(y / 7.0)[..., None]
    rgb = np.clip(base + rng.normal(0, 12, (96, 128, 3)), 0, 255).astype(np.uint8)
    gray = rgb[:, :, 1].copy()
    p_rgb, p_gray = tmp_path / "rgb.bmp", tmp_path / "gray.bmp"
    write_bmp(p_rgb, rgb)
    write_bmp(p_gray, np.repeat(gray[:, :, None], 3, axis=2))
    ex = lmmiqa.Extractor("brisque")
    m = lmmiqa.Metric()
    from_file = ex.extract([str(p_rgb), str(p_gray)])
    from_array = ex.extract([rgb, gray])
    from_bytes = ex.extract([p_rgb.read_bytes(), p_gray.read_bytes()])
    assert from_file.tobytes() == from_array.tobytes() == from_bytes.tobytes()
    assert np.array_equal(m([str(p_rgb)]), m(rgb))
    assert np.array_equal(m([p_rgb]), m([p_rgb.read_bytes()]))
    # A single array is one image, not a batch of rows.
    assert m(rgb).shape == (1,)


def test_errors_carry_status_and_message(tmp_path):
    with pytest.raises(lmmiqa.InvalidArgument) as e:
        lmmiqa.Extractor("nosuch")
    assert e.value.status == 1 and "brisque" in e.value.message
    m = lmmiqa.Metric()
    with pytest.raises(lmmiqa.IOFailure) as e:
        m([str(tmp_path / "missing.jpg")])
    assert "missing.jpg" in str(e.value) and e.value.status == 2
    with pytest.raises(lmmiqa.Error) as e:
        m([b"GIF89a not an image"])
    assert e.value.status in (3, 4) and "image 0" in e.value.message
    with pytest.raises(lmmiqa.InvalidArgument):
        m(np.zeros((8, 8, 3), dtype=np.float32))
    with pytest.raises(lmmiqa.InvalidArgument):
        m(np.zeros((8, 8, 4), dtype=np.uint8))
    with pytest.raises(lmmiqa.IOFailure) as e:
        lmmiqa.Metric(model=str(tmp_path / "none.safetensors"))
    assert "none.safetensors" in e.value.message
    with pytest.raises(lmmiqa.InvalidArgument):
        lmmiqa.Metric(model="a", brisque_svr=("b", "c"))
    scores, errors = m.score_files([str(tmp_path / "missing.jpg")])
    assert np.isnan(scores[0]) and isinstance(errors[0], lmmiqa.IOFailure)
    ex = lmmiqa.Extractor("brisque")
    ex.close()
    with pytest.raises(lmmiqa.InvalidArgument):
        ex.dim


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_no_leak_over_1000_cycles():
    img = (np.arange(64 * 48 * 3) % 251).astype(np.uint8).reshape(48, 64, 3)

    def cycle():
        with lmmiqa.Extractor("brisque") as ex:
            ex.extract(img)
        m = lmmiqa.Metric()
        m(img)
        del m

    for _ in range(100):
        cycle()
    before = rss_kib()
    for _ in range(1000):
        cycle()
    grown = rss_kib() - before
    assert grown < 4096, f"RSS grew by {grown} KiB over 1000 create/destroy cycles"


def test_threads_share_one_extractor(samples):
    ex = lmmiqa.Extractor("brisque")
    ref = ex.extract(samples[:6])
    results, errors = {}, []

    def work(k):
        try:
            for _ in range(3):
                results[k] = ex.extract(samples[:6], jobs=1)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and len(results) == 4
    for r in results.values():
        assert r.tobytes() == ref.tobytes()


def test_metrics_against_numpy():
    rng = np.random.default_rng(3)
    mos = rng.uniform(0, 100, 200)
    pred = mos + rng.normal(0, 15, 200)
    got = lmmiqa.metrics(pred, mos)
    assert abs(got["plcc"] - np.corrcoef(pred, mos)[0, 1]) < 1e-12
    rank = lambda v: np.argsort(np.argsort(v)).astype(float)
    assert abs(got["srocc"] - np.corrcoef(rank(pred), rank(mos))[0, 1]) < 1e-12
    assert abs(got["rmse"] - np.sqrt(np.mean((pred - mos) ** 2))) < 1e-9
    assert got["n"] == 200
    const = lmmiqa.metrics(np.ones(5), np.arange(5.0))
    assert np.isnan(const["plcc"])
    with pytest.raises(lmmiqa.InvalidArgument):
        lmmiqa.metrics([1, 2, 3], [1, 2])


def test_eval_equals_cli(samples, tmp_path):
    rng = np.random.default_rng(11)
    labels = tmp_path / "labels.csv"
    with open(labels, "w") as f:
        f.write("image,mos\n")
        for p in samples:
            f.write(f"{os.path.basename(p)},{rng.uniform(10, 90):.3f}\n")
    root = os.path.dirname(samples[0])
    common = dict(splits=3, seed=5, image_root=root, epochs=3)
    rows = lmmiqa.eval(str(labels), ["brisque"], out=str(tmp_path / "py"),
                       store=str(tmp_path / "store_py"), **common)
    cli("eval", "--dataset", str(labels), "--image-root", root, "--features", "brisque",
        "--splits", "3", "--seed", "5", "--epochs", "3", "--out", str(tmp_path / "cli"),
        "--store", str(tmp_path / "store_cli"), "--quiet")
    assert len(rows) == 1 and rows[0]["spec"] == "brisque" and rows[0]["splits"] == 3
    for name in ("results.csv", "per_split.csv", "predictions.csv", "splits.json"):
        a = (tmp_path / "py" / name).read_bytes()
        b = (tmp_path / "cli" / name).read_bytes()
        assert a == b, name
    assert np.isfinite(rows[0]["plcc"]) and -1 <= rows[0]["srocc"] <= 1


def test_example_script_runs(samples):
    script = os.path.join(SRC, "python", "examples", "livec_brisque.py")
    shared = os.environ.get("LMMIQA_SHARED_DIR", "")
    if not os.path.exists(os.path.join(shared, "data", "livec", "livec.csv")):
        pytest.skip("LIVE Challenge not found")
    env = dict(os.environ, LMMIQA_DATA_DIR=shared)
    out = subprocess.run([sys.executable, script, "--splits", "2", "--epochs", "2"],
                         check=True, capture_output=True, text=True, env=env).stdout
    assert "brisque" in out and "SROCC" in out
