"""lmmiqa: blind (no-reference) image quality assessment over the lmmiqa C library.

NumPy arrays in and out, a pyiqa-like metric object, no PyTorch at run time::

    import lmmiqa
    metric = lmmiqa.Metric()                  # the built-in model (BRISQUE + MLP, LIVE Challenge)
    scores = metric(["a.jpg", "b.png"])       # np.ndarray, MOS scale 0..100, higher is better
    with lmmiqa.Extractor("brisque") as ex:
        feats = ex.extract(["a.jpg"])          # (1, 36) float32
    lmmiqa.metrics(scores, [60.0, 40.0])       # {'plcc': ..., 'srocc': ..., ...}

Images are file paths (str or os.PathLike), encoded bytes (JPEG/PNG/BMP), or
uint8 NumPy arrays of shape (H, W, 3) (RGB) or (H, W) (gray); pass a list of
them, or one (N, H, W, 3) array, for a batch. Every object
frees its C handle on close(), at the end of a ``with`` block, or when
garbage-collected. Errors raise lmmiqa.Error subclasses carrying the C status
and message. See docs/python.md.
"""

import ctypes
import json
import os
import tempfile

import numpy as np

from . import _lib
from ._lib import lib

__all__ = [
    "Error", "InvalidArgument", "IOFailure", "FormatError", "CorruptData", "TooLarge",
    "OutOfMemory", "Undefined", "Mismatch", "InternalError",
    "version", "list_extractors", "Extractor", "Metric", "metrics", "eval",
]


class Error(Exception):
    """An lmmiqa call failed: .status is the C status code, .message its message."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class InvalidArgument(Error, ValueError):
    """LMMIQA_ERR_INVALID_ARG: an argument value is out of its domain."""


class IOFailure(Error, OSError):
    """LMMIQA_ERR_IO: a file cannot be opened, read or written."""


class FormatError(Error, ValueError):
    """LMMIQA_ERR_FORMAT: unknown or unsupported file format."""


class CorruptData(Error, ValueError):
    """LMMIQA_ERR_CORRUPT: malformed or truncated data."""


class TooLarge(Error, ValueError):
    """LMMIQA_ERR_TOO_LARGE: input exceeds a documented limit."""


class OutOfMemory(Error, MemoryError):
    """LMMIQA_ERR_NOMEM."""


class Undefined(Error, ArithmeticError):
    """LMMIQA_ERR_UNDEFINED: a quantity is mathematically undefined."""


class Mismatch(Error, ValueError):
    """LMMIQA_ERR_MISMATCH: names, shapes, dtypes or sizes disagree."""


class InternalError(Error, RuntimeError):
    """LMMIQA_ERR_INTERNAL: a bug in lmmiqa."""


_ERRORS = {1: InvalidArgument, 2: IOFailure, 3: FormatError, 4: CorruptData, 5: TooLarge,
           6: OutOfMemory, 7: Undefined, 8: Mismatch, 9: InternalError}


def _check(status, what=None):
    if status != 0:
        msg = lib.lmmiqa_error_message().decode("utf-8", "replace")
        if what:
            msg = f"{what}: {msg}" if msg else what
        raise _ERRORS.get(status, Error)(status, msg or lib.lmmiqa_status_name(status).decode())


def _error_for(status, message):
    return _ERRORS.get(status, Error)(status, message)


def _b(s):
    return None if s is None else os.fsencode(s)


def version():
    """The C library's version, e.g. "0.2.0"."""
    return lib.lmmiqa_version().decode()


def list_extractors():
    """Names of the feature extractors ("brisque", "cnniqa", "clip-vit-b16", ...)."""
    names = lib.lmmiqa_extractor_names()
    out, i = [], 0
    while names[i]:
        out.append(names[i].decode())
        i += 1
    return out


# ---- images ---------------------------------------------------------------

class _CImage:
    """An lmmiqa_image made from a path, bytes or an array; freed on exit."""

    def __init__(self, image, index):
        self.ptr = ctypes.POINTER(_lib.Image)()
        if isinstance(image, (str, os.PathLike)):
            _check(lib.lmmiqa_image_load(os.fsencode(image), ctypes.byref(self.ptr)))
        elif isinstance(image, (bytes, bytearray, memoryview)):
            data = bytes(image)
            _check(lib.lmmiqa_image_decode(data, len(data), f"<image {index}>".encode(),
                                           ctypes.byref(self.ptr)))
        elif isinstance(image, np.ndarray):
            self._from_array(image, index)
        else:
            raise InvalidArgument(1, f"image {index}: expected a path, bytes or a uint8 array, "
                                     f"not {type(image).__name__}")

    def _from_array(self, a, index):
        if a.dtype != np.uint8:
            raise InvalidArgument(1, f"image {index}: dtype {a.dtype}, expected uint8")
        if a.ndim == 2:
            a = np.repeat(a[:, :, None], 3, axis=2)
        elif a.ndim != 3 or a.shape[2] != 3:
            raise InvalidArgument(1, f"image {index}: shape {a.shape}, expected (H, W, 3) or (H, W)")
        h, w = a.shape[:2]
        _check(lib.lmmiqa_image_create(int(w), int(h), ctypes.byref(self.ptr)),
               f"image {index}")
        a = np.ascontiguousarray(a)
        ctypes.memmove(self.ptr.contents.pixels, a.ctypes.data, a.nbytes)

    def close(self):
        if self.ptr:
            lib.lmmiqa_image_destroy(self.ptr)
            self.ptr = ctypes.POINTER(_lib.Image)()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _as_list(images):
    if isinstance(images, (str, os.PathLike, bytes, bytearray, memoryview)):
        return [images]
    if isinstance(images, np.ndarray):
        # One array is one image (H, W) or (H, W, C); a batch is (N, H, W, 3).
        return list(images) if images.ndim == 4 else [images]
    return list(images)


def _all_paths(items):
    return bool(items) and all(isinstance(x, (str, os.PathLike)) for x in items)


def _path_array(items):
    arr = (ctypes.c_char_p * len(items))(*[os.fsencode(p) for p in items])
    return arr


class _Handle:
    """Owns a C handle freed by close(), `with`, or garbage collection."""

    _destroy = None

    def __init__(self):
        self._h = ctypes.c_void_p()

    def close(self):
        h = getattr(self, "_h", None)
        if h:
            type(self)._destroy(h)
            self._h = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def _handle(self):
        if not self._h:
            raise InvalidArgument(1, f"this {type(self).__name__} is closed")
        return self._h


# ---- extractors -----------------------------------------------------------

class Extractor(_Handle):
    """A feature extractor: ``Extractor("brisque").extract(images)`` -> (n, dim) float32.

    weights: the weight file of a learned extractor (CLIP, ALIGN, CNNIQA, ...).
    threads: threads inside one extraction (0 = library default). jobs (in
    extract): images processed in parallel when all are paths (0 = all cores).
    One Extractor may be used by several threads at once.
    """

    _destroy = staticmethod(lambda h: lib.lmmiqa_extractor_destroy(h))

    def __init__(self, name, weights=None, threads=0):
        super().__init__()
        opts = _lib.ExtractorOptions()
        lib.lmmiqa_extractor_options_init(ctypes.byref(opts))
        opts.weights = _b(weights)
        opts.threads = int(threads)
        _check(lib.lmmiqa_extractor_create(name.encode(), ctypes.byref(opts), ctypes.byref(self._h)))

    @property
    def dim(self):
        return int(lib.lmmiqa_extractor_dim(self._handle()))

    @property
    def name(self):
        return lib.lmmiqa_extractor_name(self._handle()).decode()

    @property
    def version(self):
        return lib.lmmiqa_extractor_version(self._handle()).decode()

    @property
    def config(self):
        return json.loads(lib.lmmiqa_extractor_config_json(self._handle()).decode())

    @property
    def feature_names(self):
        h = self._handle()
        return [lib.lmmiqa_extractor_feature_name(h, i).decode() for i in range(self.dim)]

    def extract(self, images, jobs=0):
        """Features of each image as a float32 array (n, dim), the feature store's precision."""
        return self.extract_f64(images, jobs).astype(np.float32)

    def extract_f64(self, images, jobs=0):
        """Features in the extractors' own double precision, (n, dim) float64."""
        h = self._handle()
        items = _as_list(images)
        dim = self.dim
        out = np.empty((len(items), dim), dtype=np.float64)
        if not items:
            return out
        if _all_paths(items):
            status = np.zeros(len(items), dtype=np.intc)
            opts = _lib.StoreOptions()
            lib.lmmiqa_store_options_init(ctypes.byref(opts))
            opts.jobs = int(jobs)
            rc = lib.lmmiqa_store_compute(h, len(items), _path_array(items), ctypes.byref(opts),
                                          out.ctypes.data_as(_lib.c_double_p),
                                          status.ctypes.data_as(_lib.c_int_p), None)
            if rc in (6, 9):
                _check(rc)
            if rc != 0:
                bad = int(np.flatnonzero(status)[0])
                _check(rc, f"{os.fspath(items[bad])}")
            return out
        state = ctypes.c_void_p()
        _check(lib.lmmiqa_extractor_state_create(h, ctypes.byref(state)))
        try:
            for i, img in enumerate(items):
                with _CImage(img, i) as ci:
                    _check(lib.lmmiqa_extractor_run(h, state, ci.ptr,
                                                    out[i].ctypes.data_as(_lib.c_double_p)),
                           f"image {i}")
        finally:
            lib.lmmiqa_extractor_state_destroy(state)
        return out


# ---- scoring --------------------------------------------------------------

class Metric(_Handle):
    """A quality metric, like pyiqa's: ``Metric()(images)`` -> np.ndarray of scores.

    model: None for the built-in model (no download), or a file written by
    `lmmiqa train`. brisque_svr: (model, range) libsvm files for the classic
    BRISQUE (lower is better). own_score: "cnniqa" or "metaiqa", that trained
    model's own prediction (no regressor; 0..1, higher is better), its weight
    file (`lmmiqa fit`) in weights. weights: {extractor: file} for models
    whose features need weights. Scores are bit-identical to `lmmiqa score`.
    """

    _destroy = staticmethod(lambda h: lib.lmmiqa_scorer_destroy(h))

    def __init__(self, model=None, brisque_svr=None, weights=None, own_score=None):
        super().__init__()
        opts = _lib.ScorerOptions()
        lib.lmmiqa_scorer_options_init(ctypes.byref(opts))
        opts.model = _b(model)
        opts.own_score = _b(own_score)
        if brisque_svr is not None:
            svr_model, svr_range = brisque_svr
            opts.svr_model = _b(svr_model)
            opts.svr_range = _b(svr_range)
        weights = dict(weights or {})
        names = (ctypes.c_char_p * max(1, len(weights)))(*[k.encode() for k in weights])
        files = (ctypes.c_char_p * max(1, len(weights)))(*[_b(v) for v in weights.values()])
        opts.n_weights = len(weights)
        opts.weights_names = ctypes.cast(names, ctypes.POINTER(ctypes.c_char_p))
        opts.weights_files = ctypes.cast(files, ctypes.POINTER(ctypes.c_char_p))
        _check(lib.lmmiqa_scorer_create(ctypes.byref(opts), ctypes.byref(self._h)))
        lo, hi, better = ctypes.c_double(), ctypes.c_double(), ctypes.c_int()
        lib.lmmiqa_scorer_scale(self._h, ctypes.byref(lo), ctypes.byref(hi), ctypes.byref(better))
        self.score_range = (lo.value, hi.value)
        self.lower_better = not better.value
        self.info = json.loads(lib.lmmiqa_scorer_info_json(self._h).decode())
        self.warnings = lib.lmmiqa_scorer_warnings(self._h).decode()

    @property
    def name(self):
        return self.info["name"]

    @property
    def features(self):
        return self.info["features"]

    def __call__(self, images, jobs=0):
        """Scores of the images (np.ndarray float64). A failing image raises the
        matching Error naming it; score_files() returns per-image errors instead."""
        items = _as_list(images)
        if _all_paths(items):
            scores, errors = self.score_files(items, jobs)
            for i, e in enumerate(errors):
                if e is not None:
                    raise e
            return scores
        h = self._handle()
        out = np.empty(len(items), dtype=np.float64)
        state = ctypes.c_void_p()
        _check(lib.lmmiqa_scorer_state_create(h, ctypes.byref(state)))
        try:
            for i, img in enumerate(items):
                with _CImage(img, i) as ci:
                    s = ctypes.c_double()
                    _check(lib.lmmiqa_scorer_run(h, state, ci.ptr, ctypes.byref(s), None),
                           f"image {i}")
                    out[i] = s.value
        finally:
            lib.lmmiqa_scorer_state_destroy(state)
        return out

    def score_files(self, paths, jobs=0):
        """Score files in parallel: (scores, errors); scores[i] is NaN and
        errors[i] an Error where image i failed, else errors[i] is None."""
        h = self._handle()
        paths = list(paths)
        n = len(paths)
        scores = np.full(n, np.nan)
        status = np.zeros(n, dtype=np.intc)
        if n == 0:
            return scores, []
        messages = {}

        @ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_int,
                          ctypes.c_char_p)
        def on_error(user, row, image, st, message):
            messages.setdefault(row, (message or b"").decode("utf-8", "replace"))

        opts = _lib.StoreOptions()
        lib.lmmiqa_store_options_init(ctypes.byref(opts))
        opts.jobs = int(jobs)
        opts.on_error = ctypes.cast(on_error, ctypes.c_void_p)
        rc = lib.lmmiqa_scorer_run_files(h, n, _path_array(paths), ctypes.byref(opts),
                                         scores.ctypes.data_as(_lib.c_double_p),
                                         status.ctypes.data_as(_lib.c_int_p))
        if rc in (6, 9):
            _check(rc)
        errors = [None if status[i] == 0 else
                  _error_for(int(status[i]), messages.get(i, f"{os.fspath(paths[i])}: failed"))
                  for i in range(n)]
        return scores, errors


# ---- metrics and evaluation -----------------------------------------------

def metrics(pred, mos):
    """PLCC, SROCC, KRCC, RMSE and the logistic-mapped PLCC/RMSE of pred against mos.

    Returns a dict; a metric that is undefined (e.g. constant predictions) is NaN.
    """
    p = np.ascontiguousarray(pred, dtype=np.float64).ravel()
    m = np.ascontiguousarray(mos, dtype=np.float64).ravel()
    if p.shape != m.shape:
        raise InvalidArgument(1, f"pred has {p.size} values, mos {m.size}")
    out = _lib.Metrics()
    rc = lib.lmmiqa_metrics_compute(p.ctypes.data_as(_lib.c_double_p),
                                    m.ctypes.data_as(_lib.c_double_p), p.size, ctypes.byref(out))
    if rc not in (0, 7):
        _check(rc)
    return {"plcc": out.plcc, "srocc": out.srocc, "krcc": out.krcc, "rmse": out.rmse,
            "plcc_logistic": out.plcc_logistic, "rmse_logistic": out.rmse_logistic,
            "n": int(p.size)}


_HEADS = {"mlp": 0, "linear": 1, "svr": 2}


def eval(dataset, features, splits=10, seed=1, out=None, store=None, image_root=None,
         test_frac=0.2, jobs=0, weights=None, **head_options):
    """The paper's protocol, as `lmmiqa eval`: every feature spec x `splits`
    random 80/20 splits (seed `seed`), a regressor trained per split.

    dataset: a name (livec, koniq10k, spaq, cid2013; found through
    $LMMIQA_DATA_DIR) or a label file / folder. features: a spec
    ("brisque", "clip-vit-b16+brisque") or a list of them. out: the results
    folder (default: a temporary one, removed afterwards); store: the feature
    store (default: the CLI's, under $XDG_CACHE_HOME/lmmiqa/features).
    weights: {extractor: file} for learned extractors.
    head_options: head ("mlp", "linear", "svr"), epochs, lr, batch, hidden,
    dropout, weight_decay, svr_c, svr_epsilon, svr_gamma.
    Returns one dict per spec (spec, head, splits, plcc, plcc_std, srocc,
    srocc_std, krcc, krcc_std, rmse, rmse_std); a pandas.DataFrame when pandas
    is installed and as_frame=True is passed.
    """
    as_frame = head_options.pop("as_frame", False)
    specs = [features] if isinstance(features, str) else list(features)
    ds = ctypes.c_void_p()
    _check(lib.lmmiqa_dataset_load(_b(os.fspath(dataset)), _b(image_root), ctypes.byref(ds)))
    sp = ctypes.c_void_p()
    tmp = None
    try:
        n = lib.lmmiqa_dataset_size(ds)
        _check(lib.lmmiqa_splits_random(n, int(splits), float(test_frac), 0.0, int(seed),
                                        ctypes.byref(sp)))
        if out is None:
            tmp = tempfile.TemporaryDirectory(prefix="lmmiqa-eval-")
            out = tmp.name
        os.makedirs(out, exist_ok=True)
        if store is None:
            base = os.environ.get("LMMIQA_STORE_DIR") or os.path.join(
                os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                "lmmiqa", "features")
            store = os.path.join(base, lib.lmmiqa_dataset_name(ds).decode())
        os.makedirs(store, exist_ok=True)
        # Every fixed extractor's features once into the store (resumable).
        seen = set()
        for spec in specs:
            for name in spec.split("+"):
                if name in seen or lib.lmmiqa_protocol_is_trainable(name.encode()):
                    continue
                seen.add(name)
                with Extractor(name, weights=(weights or {}).get(name)) as ex:
                    so = _lib.StoreOptions()
                    lib.lmmiqa_store_options_init(ctypes.byref(so))
                    so.jobs = int(jobs)
                    _check(lib.lmmiqa_store_build_dataset(os.fsencode(store), ex._handle(), ds,
                                                          ctypes.byref(so), None),
                           f"feature store {store}")
        po = _lib.ProtocolOptions()
        lib.lmmiqa_protocol_options_init(ctypes.byref(po))
        po.store_dir = os.fsencode(store)
        po.out_dir = os.fsencode(out)
        po.jobs = int(jobs)
        po.reg.seed = int(seed)
        if "head" in head_options:
            head = head_options.pop("head")
            if head not in _HEADS:
                raise InvalidArgument(1, f"head {head!r}: expected mlp, linear or svr")
            po.reg.head = _HEADS[head]
            po.force_head = 1
        names = {"epochs": "epochs", "lr": "learning_rate", "batch": "batch_size",
                 "hidden": "hidden", "dropout": "dropout", "weight_decay": "weight_decay",
                 "svr_c": "svr_c", "svr_epsilon": "svr_epsilon", "svr_gamma": "svr_gamma"}
        for key, value in head_options.items():
            if key not in names:
                raise InvalidArgument(1, f"unknown option {key!r}")
            setattr(po.reg, names[key], value)
        arr = (ctypes.c_char_p * len(specs))(*[s.encode() for s in specs])
        rows = (_lib.ProtocolRow * len(specs))()
        _check(lib.lmmiqa_protocol_run(ds, sp, len(specs), arr, ctypes.byref(po), rows))
        table = [{"spec": r.spec.decode(), "head": lib.lmmiqa_head_name(r.head).decode(),
                  "splits": int(r.splits),
                  "plcc": r.plcc_mean, "plcc_std": r.plcc_std,
                  "srocc": r.srocc_mean, "srocc_std": r.srocc_std,
                  "krcc": r.krcc_mean, "krcc_std": r.krcc_std,
                  "rmse": r.rmse_mean, "rmse_std": r.rmse_std} for r in rows]
    finally:
        lib.lmmiqa_splits_destroy(sp)
        lib.lmmiqa_dataset_destroy(ds)
        if tmp is not None:
            tmp.cleanup()
    if as_frame:
        try:
            import pandas
        except ImportError:
            return table
        return pandas.DataFrame(table)
    return table
