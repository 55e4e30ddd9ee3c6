"""`pip install ./python` in a fresh venv (offline, Debian's setuptools), then
the installed package scores like the CLI from outside the source tree."""

import json
import os
import shutil
import subprocess
import sys

import pytest

SRC = os.environ["LMMIQA_SOURCE_DIR"]
CLI = os.environ["LMMIQA_CLI"]
BIN = os.environ["LMMIQA_BINARY_DIR"]


def test_pip_install_in_fresh_venv(tmp_path):
    try:
        import ensurepip  # noqa: F401  (Debian: python3-venv)
    except ImportError:
        pytest.skip("python3-venv is not installed (scripts/setup.sh installs it)")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, capture_output=True)
    pkg = tmp_path / "src"
    shutil.copytree(os.path.join(SRC, "python"), pkg,
                    ignore=shutil.ignore_patterns("__pycache__", "tests", "*.egg-info", "build"))
    py = str(venv / "bin" / "python")
    r = subprocess.run([py, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-index",
                        str(pkg)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    img = tmp_path / "img"
    subprocess.run([os.path.join(BIN, "gen_samples"), str(img), "--size", "128x96"],
                   check=True, capture_output=True)
    paths = sorted(str(p) for p in img.iterdir() if p.suffix == ".png")[:3]
    env = dict(os.environ, LMMIQA_LIBRARY=os.path.join(BIN, "liblmmiqa.so"))
    env.pop("PYTHONPATH", None)
    code = ("import json, sys, lmmiqa; "
            "assert 'site-packages' in lmmiqa.__file__, lmmiqa.__file__; "
            "print(json.dumps(list(lmmiqa.Metric()(sys.argv[1:]))))")
    out = subprocess.run([py, "-c", code, *paths], check=True, capture_output=True, text=True,
                         env=env, cwd=str(tmp_path)).stdout
    ref = json.loads(subprocess.run([CLI, "score", "--format", "json", *paths], check=True,
                                    capture_output=True, text=True).stdout)
    assert json.loads(out) == [e["score"] for e in ref["images"]]
