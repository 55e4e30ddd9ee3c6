"""The shared library and its C declarations (ctypes, ABI mode).

Where liblmmiqa.so is found, in order: ``$LMMIQA_LIBRARY`` (a path), next to
this package (a wheel or ``pip install`` that bundled it), the ``build/``
folder of the source tree this package sits in (``PYTHONPATH=python`` in a
checkout), then the system's library path. The library's MAJOR.MINOR must be
the one this package was written for: the structs below mirror its headers.

ctypes releases the GIL around every foreign call, so long C calls (feature
extraction, evaluation) let other Python threads run; lmmiqa's error message
is per thread, and is read right after the failing call on the same thread.
"""

import ctypes
import ctypes.util
import os

ABI_VERSION = "0.2"

c_int = ctypes.c_int
c_size_t = ctypes.c_size_t
c_double = ctypes.c_double
c_char_p = ctypes.c_char_p
c_void_p = ctypes.c_void_p
c_uint8_p = ctypes.POINTER(ctypes.c_uint8)
c_double_p = ctypes.POINTER(ctypes.c_double)
c_int_p = ctypes.POINTER(ctypes.c_int)


class Image(ctypes.Structure):
    """lmmiqa_image (lmmiqa/image.h)."""

    _fields_ = [
        ("width", c_int),
        ("height", c_int),
        ("channels", c_int),
        ("source_channels", c_int),
        ("pixels", c_uint8_p),
    ]


class ExtractorOptions(ctypes.Structure):
    """lmmiqa_extractor_options (lmmiqa/extractor.h)."""

    _fields_ = [
        ("size", c_size_t),
        ("weights", c_char_p),
        ("normalize", c_int),
        ("threads", c_int),
        ("vocab", c_char_p),
        ("prompts", c_char_p),
        ("logit_scale", c_double),
    ]


class ScorerOptions(ctypes.Structure):
    """lmmiqa_scorer_options (lmmiqa/scorer.h)."""

    _fields_ = [
        ("size", c_size_t),
        ("model", c_char_p),
        ("svr_model", c_char_p),
        ("svr_range", c_char_p),
        ("svr_flags", c_int),
        ("n_weights", c_size_t),
        ("weights_names", ctypes.POINTER(c_char_p)),
        ("weights_files", ctypes.POINTER(c_char_p)),
        ("extractor_threads", c_int),
        ("zero_shot", c_char_p),
        ("vocab", c_char_p),
        ("prompts", c_char_p),
        ("logit_scale", c_double),
        ("own_score", c_char_p),
    ]


class StoreOptions(ctypes.Structure):
    """lmmiqa_store_options (lmmiqa/store.h); callbacks left NULL."""

    _fields_ = [
        ("size", c_size_t),
        ("jobs", c_int),
        ("sync_rows", c_size_t),
        ("sync_seconds", c_double),
        ("progress", c_void_p),
        ("on_error", c_void_p),
        ("user", c_void_p),
        ("dataset", c_char_p),
        ("on_warning", c_void_p),
        ("compute", c_void_p),
        ("compute_user", c_void_p),
    ]


class RegressorConfig(ctypes.Structure):
    """lmmiqa_regressor_config (lmmiqa/regressor.h)."""

    _fields_ = [
        ("size", c_size_t),
        ("head", c_int),
        ("hidden", c_int),
        ("epochs", c_int),
        ("batch_size", c_int),
        ("learning_rate", c_double),
        ("weight_decay", c_double),
        ("dropout", c_double),
        ("standardize", c_int),
        ("seed", ctypes.c_uint64),
        ("threads", c_int),
        ("svr_c", c_double),
        ("svr_epsilon", c_double),
        ("svr_gamma", c_double),
        ("rank_lambda", c_double),
        ("rank_margin", c_double),
    ]


class ProtocolOptions(ctypes.Structure):
    """lmmiqa_protocol_options (lmmiqa/protocol.h); callbacks left NULL."""

    _fields_ = [
        ("size", c_size_t),
        ("store_dir", c_char_p),
        ("out_dir", c_char_p),
        ("reg", RegressorConfig),
        ("force_head", c_int),
        ("mos_range", c_int),
        ("resume", c_int),
        ("progress", c_void_p),
        ("user", c_void_p),
        ("rank_fn", c_void_p),
        ("rank_user", c_void_p),
        ("rank_tag", c_char_p),
        ("fit_epochs", c_int),
        ("fit_patches", c_int),
        ("metaiqa_init", c_char_p),
        ("jobs", c_int),
        ("log", c_void_p),
        ("train_predictions", c_int),
        ("select", c_void_p),
        ("select_user", c_void_p),
        ("model_score", c_int),
    ]


class ProtocolRow(ctypes.Structure):
    """lmmiqa_protocol_row (lmmiqa/protocol.h)."""

    _fields_ = [
        ("spec", ctypes.c_char * 512),
        ("head", c_int),
        ("splits", c_size_t),
        ("plcc_mean", c_double),
        ("plcc_std", c_double),
        ("srocc_mean", c_double),
        ("srocc_std", c_double),
        ("krcc_mean", c_double),
        ("krcc_std", c_double),
        ("rmse_mean", c_double),
        ("rmse_std", c_double),
    ]


class Metrics(ctypes.Structure):
    """lmmiqa_metrics (lmmiqa/metrics.h)."""

    _fields_ = [
        ("plcc", c_double),
        ("srocc", c_double),
        ("krcc", c_double),
        ("rmse", c_double),
        ("plcc_logistic", c_double),
        ("rmse_logistic", c_double),
        ("defined_mask", c_int),
        ("logistic", c_double * 4),
    ]


# name: (restype, argtypes)
_SIGNATURES = {
    "lmmiqa_version": (c_char_p, []),
    "lmmiqa_error_message": (c_char_p, []),
    "lmmiqa_status_name": (c_char_p, [c_int]),
    "lmmiqa_error_clear": (None, []),
    "lmmiqa_image_load": (c_int, [c_char_p, ctypes.POINTER(ctypes.POINTER(Image))]),
    "lmmiqa_image_decode": (c_int, [c_void_p, c_size_t, c_char_p, ctypes.POINTER(ctypes.POINTER(Image))]),
    "lmmiqa_image_create": (c_int, [c_int, c_int, ctypes.POINTER(ctypes.POINTER(Image))]),
    "lmmiqa_image_destroy": (None, [ctypes.POINTER(Image)]),
    "lmmiqa_extractor_names": (ctypes.POINTER(c_char_p), []),
    "lmmiqa_extractor_options_init": (None, [ctypes.POINTER(ExtractorOptions)]),
    "lmmiqa_extractor_create": (c_int, [c_char_p, ctypes.POINTER(ExtractorOptions), ctypes.POINTER(c_void_p)]),
    "lmmiqa_extractor_destroy": (None, [c_void_p]),
    "lmmiqa_extractor_dim": (c_size_t, [c_void_p]),
    "lmmiqa_extractor_name": (c_char_p, [c_void_p]),
    "lmmiqa_extractor_version": (c_char_p, [c_void_p]),
    "lmmiqa_extractor_config_json": (c_char_p, [c_void_p]),
    "lmmiqa_extractor_feature_name": (c_char_p, [c_void_p, c_size_t]),
    "lmmiqa_extractor_state_create": (c_int, [c_void_p, ctypes.POINTER(c_void_p)]),
    "lmmiqa_extractor_state_destroy": (None, [c_void_p]),
    "lmmiqa_extractor_run": (c_int, [c_void_p, c_void_p, ctypes.POINTER(Image), c_double_p]),
    "lmmiqa_store_options_init": (None, [ctypes.POINTER(StoreOptions)]),
    "lmmiqa_store_compute": (c_int, [c_void_p, c_size_t, ctypes.POINTER(c_char_p), ctypes.POINTER(StoreOptions), c_double_p, c_int_p, c_void_p]),
    "lmmiqa_store_build_dataset": (c_int, [c_char_p, c_void_p, c_void_p, ctypes.POINTER(StoreOptions), c_void_p]),
    "lmmiqa_scorer_options_init": (None, [ctypes.POINTER(ScorerOptions)]),
    "lmmiqa_scorer_create": (c_int, [ctypes.POINTER(ScorerOptions), ctypes.POINTER(c_void_p)]),
    "lmmiqa_scorer_destroy": (None, [c_void_p]),
    "lmmiqa_scorer_name": (c_char_p, [c_void_p]),
    "lmmiqa_scorer_features": (c_char_p, [c_void_p]),
    "lmmiqa_scorer_sha256": (c_char_p, [c_void_p]),
    "lmmiqa_scorer_dim": (c_size_t, [c_void_p]),
    "lmmiqa_scorer_scale": (None, [c_void_p, c_double_p, c_double_p, c_int_p]),
    "lmmiqa_scorer_info_json": (c_char_p, [c_void_p]),
    "lmmiqa_scorer_warnings": (c_char_p, [c_void_p]),
    "lmmiqa_scorer_state_create": (c_int, [c_void_p, ctypes.POINTER(c_void_p)]),
    "lmmiqa_scorer_state_destroy": (None, [c_void_p]),
    "lmmiqa_scorer_run": (c_int, [c_void_p, c_void_p, ctypes.POINTER(Image), c_double_p, c_double_p]),
    "lmmiqa_scorer_run_files": (c_int, [c_void_p, c_size_t, ctypes.POINTER(c_char_p), ctypes.POINTER(StoreOptions), c_double_p, c_int_p]),
    "lmmiqa_metrics_compute": (c_int, [c_double_p, c_double_p, c_size_t, ctypes.POINTER(Metrics)]),
    "lmmiqa_dataset_load": (c_int, [c_char_p, c_char_p, ctypes.POINTER(c_void_p)]),
    "lmmiqa_dataset_destroy": (None, [c_void_p]),
    "lmmiqa_dataset_size": (c_size_t, [c_void_p]),
    "lmmiqa_dataset_name": (c_char_p, [c_void_p]),
    "lmmiqa_splits_random": (c_int, [c_size_t, c_size_t, c_double, c_double, ctypes.c_uint64, ctypes.POINTER(c_void_p)]),
    "lmmiqa_splits_destroy": (None, [c_void_p]),
    "lmmiqa_splits_save_json": (c_int, [c_void_p, c_char_p]),
    "lmmiqa_regressor_config_init": (None, [ctypes.POINTER(RegressorConfig)]),
    "lmmiqa_protocol_options_init": (None, [ctypes.POINTER(ProtocolOptions)]),
    "lmmiqa_protocol_is_trainable": (c_int, [c_char_p]),
    "lmmiqa_protocol_run": (c_int, [c_void_p, c_void_p, c_size_t, ctypes.POINTER(c_char_p), ctypes.POINTER(ProtocolOptions), ctypes.POINTER(ProtocolRow)]),
    "lmmiqa_head_name": (c_char_p, [c_int]),
}


def _candidates():
    env = os.environ.get("LMMIQA_LIBRARY")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    for name in sorted(os.listdir(here)):
        if name.startswith("liblmmiqa.so"):
            yield os.path.join(here, name)
    tree = os.path.join(os.path.dirname(os.path.dirname(here)), "build", "liblmmiqa.so")
    if os.path.exists(tree):
        yield tree
    found = ctypes.util.find_library("lmmiqa")
    if found:
        yield found
    yield "liblmmiqa.so." + ABI_VERSION


def _load():
    tried = []
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path} ({e})")
            continue
        for name, (res, args) in _SIGNATURES.items():
            fn = getattr(lib, name)
            fn.restype = res
            fn.argtypes = args
        version = lib.lmmiqa_version().decode()
        if ".".join(version.split(".")[:2]) != ABI_VERSION:
            raise ImportError(
                f"lmmiqa: {path} is version {version}; this package needs {ABI_VERSION}.x")
        return lib, path
    raise ImportError(
        "lmmiqa: the shared library liblmmiqa.so was not found; set LMMIQA_LIBRARY to its "
        "path, or install lmmiqa (tried: " + "; ".join(tried) + ")")


lib, path = _load()
