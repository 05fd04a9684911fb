#!/usr/bin/env python3
"""Generate cnncalc's reference data from real PyTorch.

This script is NOT part of cnncalc and CI never runs it: cnncalc is torch-free.  It needs
torch, torchvision and fvcore, which live in a separate virtual environment outside the repo:

    python3 -m venv <torch-venv>
    <torch-venv>/bin/pip install torch==2.14.1 torchvision==0.29.1
    <torch-venv>/bin/pip install fvcore          # 0.1.5.post20221221

Usage (from the repo root):

    <torch-venv>/bin/python tools/torch_reference.py            # both files
    <torch-venv>/bin/python tools/torch_reference.py --only shapes
    <torch-venv>/bin/python tools/torch_reference.py --only zoo
    <torch-venv>/bin/python tools/torch_reference.py --only lppool
    <torch-venv>/bin/python tools/torch_reference.py --only resolutions
    <torch-venv>/bin/python tools/torch_reference.py --only sizes
    <torch-venv>/bin/python tools/torch_reference.py --only segmentation
    <torch-venv>/bin/python tools/torch_reference.py --only train
    CNNCALC_PYTHON=<cnncalc-venv>/bin/python <torch-venv>/bin/python tools/torch_reference.py --only export
    <yolo-venv>/bin/python tools/torch_reference.py --only yolo   (torch 2.14.1, ultralytics 8.4.190)
    <torch-venv>/bin/python tools/torch_reference.py --check-public tests/data/shape_cases_public.jsonl

It writes

  tests/data/shape_cases_torch.jsonl   ~3000 single-layer cases (seeded, deterministic)
  tests/data/torchvision_zoo.json      24 torchvision models (weights=None, eval, batch 1)
  tests/data/lppool_cases_torch.jsonl  ~150 LPPool1d/LPPool2d cases (seeded, deterministic;
                                       same record format as shape_cases_torch.jsonl)
  tests/data/torchvision_resolutions.json  resnet50 at 3x320x240 and 3x224x224, resnet18 at
                                       3x320x240: totals, output shape, fvcore counts
  tests/data/sizes_cases_torch.jsonl   ~400 cases of cnncalc's functional ops and size-matching
                                       layers (Mean, Reshape, CenterCrop, PadTo, Interpolate, ...)
  tests/data/segmentation_torch.json   U-Net (classic and padded) and deeplabv3_resnet50, each at
                                       two input sizes
  tests/data/export_torch.json         the code `cnncalc export` writes for every config and docs
                                       example, built and run here (--only export; needs a Python
                                       with cnncalc's dependencies: --cnncalc-python or $CNNCALC_PYTHON)

Everything recorded is what torch itself did (output shapes, parameter and buffer counts,
exception type/message and whether the exception came from the constructor or from forward);
nothing is computed from a hand formula.  The field meanings are described in
tests/data/README.md.  Runs in a few minutes on 2 CPUs.
"""

from __future__ import annotations

import argparse
import copy
import importlib.metadata
import json
import math
import os
import random
import sys
import time
import warnings
from collections import Counter

import torch
import torch.nn as nn

SEED = 20250611
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(REPO, "tests", "data")
MAX_MSG = 600


# --------------------------------------------------------------------------------------------
# JSON helpers
# --------------------------------------------------------------------------------------------

def jsonable(v):
    """Tuples -> lists, torch.Size -> list, recursively; other scalars unchanged."""
    if isinstance(v, (tuple, list, torch.Size)):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, float) and (math.isinf(v) or math.isnan(v)):
        return repr(v)
    return v


def _is_plain(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return True
    if isinstance(v, (tuple, list, torch.Size)):
        return all(_is_plain(x) for x in v)
    return False


def module_attrs(m: nn.Module) -> dict:
    """The module's public, plain-valued attributes as torch normalised them (e.g. a pool's
    stride=None becomes kernel_size; a conv's kernel_size becomes a tuple)."""
    out = {}
    for k, v in vars(m).items():
        if k.startswith("_") or k == "training":
            continue
        if _is_plain(v):
            out[k] = jsonable(v)
    return out


def err_msg(e: BaseException) -> str:
    s = str(e)
    # drop the C++ source-location trailer some ATen errors carry
    s = s.split("\nException raised from")[0].strip()
    if len(s) > MAX_MSG:
        s = s[:MAX_MSG] + "..."
    return s


def buffer_count(m: nn.Module) -> int:
    return sum(b.numel() for n, b in m.named_buffers() if not n.endswith("num_batches_tracked"))


# --------------------------------------------------------------------------------------------
# Running one shape case
# --------------------------------------------------------------------------------------------

LAYERS_WITH_BIAS_KWARG = {
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    "Linear", "LayerNorm",
}


def run_case(idx: int, spec: dict, gen: torch.Generator) -> dict:
    layer, kwargs, shape = spec["layer"], spec["kwargs"], spec["input_shape"]
    rec = {
        "id": idx,
        "category": spec["category"],
        "layer": layer,
        "kwargs": jsonable(kwargs),
        "input_shape": jsonable(shape),
    }
    if spec.get("train_mode"):
        rec["train_mode"] = True
    if spec.get("note"):
        rec["note"] = spec["note"]
    cls = SIZE_LAYERS[layer] if layer in SIZE_LAYERS else getattr(nn, layer)
    caught = []
    with warnings.catch_warnings(record=True) as wlist:
        warnings.simplefilter("always")
        try:
            m = cls(**kwargs)
        except Exception as e:  # whatever torch raises is recorded
            rec.update(error=True, error_phase="construct", error_type=type(e).__name__,
                       error_message=err_msg(e), output_shape=None, param_count=None,
                       param_count_with_bias=None, param_count_without_bias=None,
                       buffer_count=None)
            m = None
        if m is not None:
            m.train(bool(spec.get("train_mode")))
            rec["module_repr"] = repr(m)
            rec["module_attrs"] = module_attrs(m)
            pc = sum(p.numel() for p in m.parameters())
            bias = getattr(m, "bias", None)
            has_bias = isinstance(bias, torch.Tensor)
            bias_n = bias.numel() if has_bias else 0
            with_bias = pc
            if not has_bias and layer in LAYERS_WITH_BIAS_KWARG:
                kw2 = dict(kwargs)
                kw2["bias"] = True
                with_bias = sum(p.numel() for p in cls(**kw2).parameters())
            rec.update(param_count=pc, param_count_with_bias=with_bias,
                       param_count_without_bias=pc - bias_n, has_bias=has_bias,
                       buffer_count=buffer_count(m))
            try:
                x = torch.randn(*shape, generator=gen)
                with torch.no_grad():
                    y = m(x)
                rec["output_shape"] = list(y.shape)
                rec["error"] = False
            except Exception as e:
                rec.update(error=True, error_phase="forward", error_type=type(e).__name__,
                           error_message=err_msg(e), output_shape=None)
        for w in wlist:
            msg = str(w.message).strip().splitlines()[0][:300]
            if msg not in caught:
                caught.append(msg)
    if caught:
        rec["warnings"] = caught
    return rec


# --------------------------------------------------------------------------------------------
# Case generation
# --------------------------------------------------------------------------------------------

class Cases:
    def __init__(self, seed: int):
        self.r = random.Random(seed)
        self.items: list[dict] = []

    def add(self, category, layer, kwargs, input_shape, note=None, train_mode=False):
        d = {"category": category, "layer": layer, "kwargs": kwargs,
             "input_shape": tuple(input_shape)}
        if note:
            d["note"] = note
        if train_mode:
            d["train_mode"] = True
        self.items.append(d)

    # small random helpers ------------------------------------------------------------------
    def it(self, d, lo, hi, p_tuple=0.3):
        """int in [lo, hi], or (with probability p_tuple) a d-tuple of such ints."""
        r = self.r
        if d > 1 and r.random() < p_tuple:
            return tuple(r.randint(lo, hi) for _ in range(d))
        return r.randint(lo, hi)

    @staticmethod
    def per_dim(v, d):
        return tuple(v) if isinstance(v, tuple) else (v,) * d

    def spatial(self, d, lo=1, big=False, mins=None):
        r = self.r
        hi = {1: 300, 2: 48, 3: 14}[d] if not big else {1: 600, 2: 80, 3: 20}[d]
        out = []
        for i in range(d):
            m = lo if mins is None else max(lo, mins[i])
            out.append(r.randint(min(m, hi), max(m, hi)))
        return tuple(out)


# ---- convolutions ------------------------------------------------------------------------

def gen_conv_random(c: Cases, d: int, transposed: bool, n: int):
    r = c.r
    layer = ("ConvTranspose%dd" if transposed else "Conv%dd") % d
    kmax = {1: 7, 2: 7, 3: 5}[d]
    for _ in range(n):
        g = r.choice([1, 1, 1, 1, 1, 2, 2, 3, 4])
        inc = g * r.randint(1, 4)
        outc = g * r.randint(1, 4)
        if r.random() < 0.04:
            inc = r.randint(1, 12)
        if r.random() < 0.04:
            outc = r.randint(1, 12)
        k = c.it(d, 1, kmax)
        s = c.it(d, 1, 3)
        dil = 1 if r.random() < 0.6 else c.it(d, 1, 3)
        u = r.random()
        if not transposed and u < 0.15:
            pad = "same"
            if r.random() < 0.75:
                s = 1
        elif not transposed and u < 0.25:
            pad = "valid"
        elif u < 0.45 and d > 1:
            pad = tuple(r.randint(0, 3) for _ in range(d))
        else:
            pad = r.randint(0, 3)
        kw = {"in_channels": inc, "out_channels": outc, "kernel_size": k, "stride": s,
              "padding": pad}
        if transposed:
            sd = [max(a, b) for a, b in zip(c.per_dim(s, d), c.per_dim(dil, d))]
            v = r.random()
            if v < 0.5:
                op = 0
            elif v < 0.9:
                op = tuple(r.randint(0, m - 1) for m in sd) if d > 1 else r.randint(0, sd[0] - 1)
            else:
                op = r.randint(1, 3)
            kw["output_padding"] = op
        kw["groups"] = g
        kw["bias"] = r.random() < 0.5
        kw["dilation"] = dil
        if not transposed and r.random() < 0.12:
            kw["padding_mode"] = r.choice(["reflect", "circular", "replicate"])
        eff = [dd * (kk - 1) + 1 for dd, kk in zip(c.per_dim(dil, d), c.per_dim(k, d))]
        mins = eff if (not transposed and r.random() < 0.85) else None
        sp = c.spatial(d, mins=mins)
        ch = inc if r.random() > 0.03 else max(1, inc + r.choice([-1, 1]))
        c.add("random", layer, kw, (1, ch) + sp)


# ---- pools -------------------------------------------------------------------------------

def gen_maxpool_random(c: Cases, d: int, n: int):
    r = c.r
    for _ in range(n):
        k = c.it(d, 1, 5)
        kd = c.per_dim(k, d)
        s = None if r.random() < 0.25 else c.it(d, 1, 4)
        if r.random() < 0.88:
            pad = tuple(r.randint(0, kk // 2) for kk in kd) if (d > 1 and r.random() < 0.3) \
                else r.randint(0, min(kd) // 2)
        else:
            pad = r.randint(1, 3)
        dil = 1 if r.random() < 0.6 else c.it(d, 1, 3)
        kw = {"kernel_size": k, "stride": s, "padding": pad, "dilation": dil,
              "ceil_mode": r.random() < 0.5}
        eff = [dd * (kk - 1) + 1 for dd, kk in zip(c.per_dim(dil, d), kd)]
        sp = c.spatial(d, mins=eff if r.random() < 0.9 else None)
        c.add("random", "MaxPool%dd" % d, kw, (1, r.randint(1, 4)) + sp)


def gen_avgpool_random(c: Cases, d: int, n: int):
    r = c.r
    for _ in range(n):
        k = c.it(d, 1, 6)
        kd = c.per_dim(k, d)
        s = None if r.random() < 0.25 else c.it(d, 1, 4)
        if r.random() < 0.88:
            pad = tuple(r.randint(0, kk // 2) for kk in kd) if (d > 1 and r.random() < 0.3) \
                else r.randint(0, min(kd) // 2)
        else:
            pad = r.randint(1, 3)
        kw = {"kernel_size": k, "stride": s, "padding": pad, "ceil_mode": r.random() < 0.5,
              "count_include_pad": r.random() < 0.5}
        if d > 1 and r.random() < 0.2:
            kw["divisor_override"] = r.randint(1, 9)
        sp = c.spatial(d, mins=kd if r.random() < 0.9 else None)
        c.add("random", "AvgPool%dd" % d, kw, (1, r.randint(1, 4)) + sp)


def gen_adaptive_random(c: Cases, kind: str, d: int, n: int):
    r = c.r
    for _ in range(n):
        if d == 1:
            os_ = r.randint(1, 9)
        else:
            u = r.random()
            if u < 0.35:
                os_ = r.randint(1, 9)
            else:
                os_ = tuple(None if r.random() < 0.3 else r.randint(1, 9) for _ in range(d))
        sp = c.spatial(d) if d != 1 else (r.randint(1, 120),)
        c.add("random", "Adaptive%sPool%dd" % (kind, d), {"output_size": os_},
              (1, r.randint(1, 4)) + sp)


# ---- normalisation -----------------------------------------------------------------------

def gen_batchnorm_random(c: Cases, d: int, n: int):
    r = c.r
    for _ in range(n):
        C = r.randint(1, 16)
        kw = {"num_features": C}
        if r.random() < 0.5:
            kw["affine"] = r.random() < 0.6
        if r.random() < 0.5:
            kw["track_running_stats"] = r.random() < 0.6
        if r.random() < 0.2:
            kw["eps"] = r.choice([1e-3, 1e-5, 0.1])
        if r.random() < 0.2:
            kw["momentum"] = r.choice([None, 0.01, 0.3])
        ch = C if r.random() > 0.06 else C + 1
        if d == 1:
            shape = (1, ch) if r.random() < 0.4 else (1, ch, r.randint(1, 50))
        else:
            shape = (1, ch) + c.spatial(d)
        if r.random() < 0.04:
            shape = shape[:-1] if len(shape) > 2 else shape + (3,)
        c.add("random", "BatchNorm%dd" % d, kw, shape)


def gen_groupnorm_random(c: Cases, n: int):
    r = c.r
    for _ in range(n):
        g = r.randint(1, 6)
        C = g * r.randint(1, 4) if r.random() > 0.08 else r.randint(1, 12)
        kw = {"num_groups": g, "num_channels": C}
        if r.random() < 0.4:
            kw["affine"] = r.random() < 0.5
        if r.random() < 0.2:
            kw["eps"] = 1e-3
        ch = C if r.random() > 0.06 else C + g
        rank = r.randint(0, 3)
        shape = (1, ch) + (c.spatial(rank) if rank else ())
        c.add("random", "GroupNorm", kw, shape)


def gen_layernorm_random(c: Cases, n: int):
    r = c.r
    for _ in range(n):
        rank = r.randint(2, 4)
        shape = (1,) + tuple(r.randint(1, 12) for _ in range(rank - 1))
        nd = r.randint(1, rank - 1)
        ns = list(shape[-nd:])
        if r.random() < 0.08:
            ns[0] += 1
        normalized = ns[0] if (nd == 1 and r.random() < 0.5) else (
            tuple(ns) if r.random() < 0.5 else list(ns))
        kw = {"normalized_shape": normalized}
        if r.random() < 0.5:
            kw["elementwise_affine"] = r.random() < 0.6
        if r.random() < 0.5:
            kw["bias"] = r.random() < 0.5
        if r.random() < 0.15:
            kw["eps"] = 1e-6
        c.add("random", "LayerNorm", kw, shape)


def gen_instancenorm_random(c: Cases, d: int, n: int):
    r = c.r
    for _ in range(n):
        C = r.randint(1, 8)
        kw = {"num_features": C}
        if r.random() < 0.5:
            kw["affine"] = r.random() < 0.5
        if r.random() < 0.5:
            kw["track_running_stats"] = r.random() < 0.5
        ch = C if r.random() > 0.1 else C + 1
        c.add("random", "InstanceNorm%dd" % d, kw, (1, ch) + c.spatial(d))


# ---- dense / reshape ---------------------------------------------------------------------

def gen_linear_random(c: Cases, n: int):
    r = c.r
    for _ in range(n):
        fin, fout = r.randint(1, 256), r.randint(1, 256)
        kw = {"in_features": fin, "out_features": fout, "bias": r.random() < 0.6}
        last = fin if r.random() > 0.08 else fin + r.choice([-1, 1, 3]) or 2
        extra = tuple(r.randint(1, 6) for _ in range(r.randint(0, 2)))
        c.add("random", "Linear", kw, (1,) + extra + (last,))


def gen_flatten_random(c: Cases, n: int):
    r = c.r
    for _ in range(n):
        rank = r.randint(2, 5)
        shape = (1,) + tuple(r.randint(1, 6) for _ in range(rank - 1))
        kw = {}
        if r.random() < 0.8:
            kw["start_dim"] = r.randint(-rank, rank - 1)
        if r.random() < 0.6:
            kw["end_dim"] = r.randint(-rank, rank - 1)
        c.add("random", "Flatten", kw, shape)


def _factor(r, v):
    """A random factorisation of v into 1-3 factors (as a tuple)."""
    parts = []
    rest = v
    for _ in range(r.randint(0, 2)):
        divs = [q for q in range(1, rest + 1) if rest % q == 0]
        q = r.choice(divs)
        parts.append(q)
        rest //= q
    parts.append(rest)
    r.shuffle(parts)
    return tuple(parts)


def gen_unflatten_random(c: Cases, n: int):
    r = c.r
    for _ in range(n):
        rank = r.randint(2, 4)
        shape = (1,) + tuple(r.choice([1, 2, 4, 6, 8, 12, 24, 30]) for _ in range(rank - 1))
        dim = r.randint(1, rank - 1)
        if r.random() < 0.3:
            dim -= rank
        parts = list(_factor(r, shape[dim]))
        u = r.random()
        if u < 0.2:
            parts[r.randrange(len(parts))] = -1
        elif u < 0.28:
            parts[0] += 1
        c.add("random", "Unflatten", {"dim": dim, "unflattened_size": tuple(parts)}, shape)


# ---- elementwise / misc -------------------------------------------------------------------

def rand_shape(c: Cases, rank_lo=2, rank_hi=5):
    r = c.r
    rank = r.randint(rank_lo, rank_hi)
    return (1,) + tuple(r.randint(1, 10) for _ in range(rank - 1))


def gen_dropout_random(c: Cases, n_each: int):
    r = c.r
    ranks = {"Dropout": (2, 5), "Dropout1d": (2, 3), "Dropout2d": (3, 4), "Dropout3d": (4, 5),
             "AlphaDropout": (2, 5)}
    for layer, (lo, hi) in ranks.items():
        for _ in range(n_each):
            kw = {}
            if r.random() < 0.7:
                kw["p"] = r.choice([0.0, 0.1, 0.25, 0.5, 0.9, 1.0])
            if r.random() < 0.2:
                kw["inplace"] = True
            c.add("random", layer, kw, rand_shape(c, lo, hi))


def gen_activation_random(c: Cases, n_each: int):
    r = c.r
    for _ in range(max(3, n_each // 2)):
        kw = {}
        if r.random() < 0.3:
            kw = {"unused_arg": r.randint(1, 5)}
        c.add("random", "Identity", kw, rand_shape(c))
    simple = ["ReLU", "ReLU6", "SiLU", "Mish", "Sigmoid", "Tanh", "Hardswish", "Hardsigmoid"]
    for layer in simple:
        for _ in range(n_each):
            kw = {"inplace": True} if (layer not in ("Sigmoid", "Tanh") and r.random() < 0.2) else {}
            c.add("random", layer, kw, rand_shape(c))
    for _ in range(n_each):
        c.add("random", "LeakyReLU", {"negative_slope": r.choice([0.01, 0.1, 0.2])} if r.random() < 0.6 else {},
              rand_shape(c))
        c.add("random", "ELU", {"alpha": r.choice([0.5, 1.0, 2.0])} if r.random() < 0.6 else {},
              rand_shape(c))
        c.add("random", "GELU", {"approximate": r.choice(["none", "tanh"])} if r.random() < 0.6 else {},
              rand_shape(c))
        lo = r.choice([-1.0, -2.0, 0.0])
        c.add("random", "Hardtanh", {"min_val": lo, "max_val": lo + r.choice([1.0, 2.0, 6.0])}
              if r.random() < 0.6 else {}, rand_shape(c))
    for _ in range(2 * n_each):
        shape = rand_shape(c)
        u = r.random()
        if u < 0.4:
            kw = {}
        elif u < 0.85:
            kw = {"num_parameters": shape[1]}
        else:
            kw = {"num_parameters": shape[1] + r.randint(1, 3)}
        if r.random() < 0.2:
            kw["init"] = 0.1
        c.add("random", "PReLU", kw, shape)
    for layer in ("Softmax", "LogSoftmax"):
        for _ in range(2 * n_each):
            shape = rand_shape(c)
            rank = len(shape)
            u = r.random()
            if u < 0.08:
                kw = {}
            elif u < 0.9:
                kw = {"dim": r.randint(-rank, rank - 1)}
            else:
                kw = {"dim": r.choice([rank, -rank - 1])}
            c.add("random", layer, kw, shape)


# ---- upsample ----------------------------------------------------------------------------

MODES_BY_DIM = {1: ["nearest", "nearest-exact", "linear", "linear", "area"],
                2: ["nearest", "nearest-exact", "bilinear", "bicubic", "area"],
                3: ["nearest", "nearest-exact", "trilinear", "trilinear", "area"]}
ALL_MODES = ["nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area"]
LINEAR_MODES = {"linear", "bilinear", "bicubic", "trilinear"}
SCALES = [2, 3, 0.5, 1.5, 2.3, 0.3, 1.7, 0.75, 1.25, 2.5, 3.0, 0.25, 1.1, 1.0, 4]


def gen_upsample_random(c: Cases, n: int):
    r = c.r
    for _ in range(n):
        d = r.choice([1, 2, 2, 3])
        hi = {1: 64, 2: 32, 3: 10}[d]
        sp = tuple(r.randint(1, hi) for _ in range(d))
        mode = r.choice(MODES_BY_DIM[d]) if r.random() < 0.88 else r.choice(ALL_MODES)
        kw = {}
        if r.random() < 0.35:
            kw["size"] = r.randint(1, 2 * hi) if r.random() < 0.5 else tuple(
                r.randint(1, 2 * hi) for _ in range(d))
        else:
            kw["scale_factor"] = r.choice(SCALES) if (d == 1 or r.random() < 0.7) else tuple(
                r.choice(SCALES) for _ in range(d))
        if mode != "nearest" or r.random() < 0.5:
            kw["mode"] = mode
        if (mode in LINEAR_MODES and r.random() < 0.6) or r.random() < 0.04:
            kw["align_corners"] = r.random() < 0.5
        if r.random() < 0.3:
            kw["recompute_scale_factor"] = r.random() < 0.5
        c.add("random", "Upsample", kw, (1, r.randint(1, 3)) + sp)


# ---- padding / shuffles -------------------------------------------------------------------

def gen_pad_random(c: Cases, n: int):
    r = c.r
    for d, layer in ((1, "ZeroPad1d"), (2, "ZeroPad2d"), (3, "ZeroPad3d")):
        for _ in range(n):
            sp = tuple(r.randint(1, {1: 40, 2: 20, 3: 8}[d]) for _ in range(d))
            if r.random() < 0.35:
                p = r.randint(0, 4)
            else:
                p = tuple(r.randint(-1 if r.random() < 0.15 else 0, 4) for _ in range(2 * d))
            c.add("random", layer, {"padding": p}, (1, r.randint(1, 3)) + sp)
    for _ in range(n):
        sp = (r.randint(1, 20), r.randint(1, 20))
        p = r.randint(0, 4) if r.random() < 0.35 else tuple(r.randint(-1, 4) for _ in range(4))
        c.add("random", "ConstantPad2d", {"padding": p, "value": r.choice([0.0, 1.5, -3.0])},
              (1, r.randint(1, 3)) + sp)
    for layer in ("ReflectionPad2d", "ReplicationPad2d"):
        for _ in range(n + 5):
            sp = (r.randint(1, 20), r.randint(1, 20))
            p = r.randint(0, 5) if r.random() < 0.35 else tuple(r.randint(0, 5) for _ in range(4))
            c.add("random", layer, {"padding": p}, (1, r.randint(1, 3)) + sp)


def gen_shuffle_random(c: Cases, n: int):
    r = c.r
    for _ in range(n):
        f = r.randint(1, 4)
        C = r.randint(1, 3) * f * f if r.random() > 0.1 else r.randint(1, 20)
        c.add("random", "PixelShuffle", {"upscale_factor": f}, (1, C, r.randint(1, 12), r.randint(1, 12)))
    for _ in range(n):
        f = r.randint(1, 4)
        H = f * r.randint(1, 8) if r.random() > 0.1 else r.randint(1, 20)
        W = f * r.randint(1, 8) if r.random() > 0.1 else r.randint(1, 20)
        c.add("random", "PixelUnshuffle", {"downscale_factor": f}, (1, r.randint(1, 4), H, W))
    for _ in range(n - 5):
        g = r.randint(1, 6)
        C = g * r.randint(1, 4) if r.random() > 0.1 else r.randint(1, 20)
        rank = r.choice([0, 1, 2, 2, 3])
        c.add("random", "ChannelShuffle", {"groups": g},
              (1, C) + tuple(r.randint(1, 8) for _ in range(rank)))


# ---- edge cases --------------------------------------------------------------------------

def gen_edges(c: Cases):
    r = c.r
    A = c.add

    # ceil_mode: last window would start inside the right padding (torch drops it) ---------
    pools = [("MaxPool", d) for d in (1, 2, 3)] + [("AvgPool", d) for d in (1, 2, 3)]
    for kind, d in pools:
        trig, plain = 0, 0
        tries = 0
        while (trig < 7 or plain < 3) and tries < 100000:
            tries += 1
            k = r.randint(2 if trig < 7 else 1, 5)
            s = r.randint(2, 5)
            p = r.randint(1 if trig < 7 else 0, k // 2)
            dil = r.randint(1, 2) if kind == "MaxPool" else 1
            L = r.randint(1, 30 if d < 3 else 12)
            num = L + 2 * p - dil * (k - 1) - 1
            if num < 0 or num % s == 0:
                continue
            ceil_raw = -(-num // s) + 1
            triggered = (ceil_raw - 1) * s >= L + p
            if triggered and trig < 7:
                trig += 1
            elif not triggered and plain < 3:
                plain += 1
            else:
                continue
            axis = r.randrange(d)
            sp = []
            for i in range(d):
                sp.append(L if i == axis else r.randint(dil * (k - 1) + 1, 16))
            kw = {"kernel_size": k, "stride": s, "padding": p}
            if kind == "MaxPool":
                kw["dilation"] = dil
            kw["ceil_mode"] = True
            note = "selected axis: dim %d; %s" % (axis + 2, "last ceil window starts in padding"
                                                   if triggered else "last ceil window starts inside input")
            A("edge_ceil_last_window_in_padding", "%s%dd" % (kind, d), kw, (1, 1) + tuple(sp), note=note)

    # ceil_mode pairs: same config with ceil False and True --------------------------------
    for kind, d in pools:
        for _ in range(3):
            k = r.randint(2, 5)
            s = r.randint(2, 4)
            L = r.randint(k + 1, 30)
            while (L - k) % s == 0:
                L += 1
            for ceil in (False, True):
                kw = {"kernel_size": k, "stride": s, "ceil_mode": ceil}
                A("edge_ceil_mode_pairs", "%s%dd" % (kind, d), kw, (1, 1) + (L,) * d)

    # input smaller than kernel --------------------------------------------------------------
    for d in (1, 2, 3):
        for pad in (0, 1, 2):
            A("edge_input_smaller_than_kernel", "Conv%dd" % d,
              {"in_channels": 1, "out_channels": 2, "kernel_size": 5, "padding": pad}, (1, 1) + (2,) * d)
        A("edge_input_smaller_than_kernel", "Conv%dd" % d,
          {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "dilation": 2}, (1, 1) + (4,) * d)
        A("edge_input_smaller_than_kernel", "ConvTranspose%dd" % d,
          {"in_channels": 1, "out_channels": 1, "kernel_size": 5}, (1, 1) + (2,) * d)
        for pad in (0, 1, 2):
            A("edge_input_smaller_than_kernel", "MaxPool%dd" % d, {"kernel_size": 5, "padding": pad},
              (1, 1) + (2,) * d)
            A("edge_input_smaller_than_kernel", "AvgPool%dd" % d, {"kernel_size": 5, "padding": pad},
              (1, 1) + (2,) * d)
        A("edge_input_smaller_than_kernel", "MaxPool%dd" % d, {"kernel_size": 3, "ceil_mode": True},
          (1, 1) + (2,) * d)
        A("edge_input_smaller_than_kernel", "AvgPool%dd" % d,
          {"kernel_size": 3, "padding": 1, "ceil_mode": True}, (1, 1) + (1,) * d)
        for kind in ("MaxPool", "AvgPool"):
            A("edge_input_smaller_than_kernel", "%s%dd" % (kind, d), {"kernel_size": 3, "padding": 1},
              (1, 1) + (2,) * d, note="input smaller than kernel but padded input is not")
            A("edge_input_smaller_than_kernel", "%s%dd" % (kind, d), {"kernel_size": 3, "stride": 1, "padding": 1},
              (1, 1) + (5,) * (d - 1) + (2,), note="only the last spatial dim is smaller than the kernel")

    # pool padding > kernel/2 (and exactly k/2) ---------------------------------------------
    for d in (1, 2, 3):
        for k, p in ((3, 1), (3, 2), (4, 2), (4, 3), (2, 1), (1, 1), (5, 3)):
            A("edge_pool_padding", "MaxPool%dd" % d, {"kernel_size": k, "padding": p}, (1, 1) + (9,) * d)
            A("edge_pool_padding", "AvgPool%dd" % d, {"kernel_size": k, "padding": p}, (1, 1) + (9,) * d)
        A("edge_pool_padding", "MaxPool%dd" % d, {"kernel_size": 2, "padding": 1, "dilation": 3},
          (1, 1) + (9,) * d, note="effective kernel 4 but check is against kernel_size")
        A("edge_pool_padding", "MaxPool%dd" % d, {"kernel_size": 3, "padding": 2, "dilation": 2},
          (1, 1) + (9,) * d)
    A("edge_pool_padding", "MaxPool2d", {"kernel_size": (3, 5), "padding": (1, 2)}, (1, 1, 9, 9))
    A("edge_pool_padding", "MaxPool2d", {"kernel_size": (3, 5), "padding": (2, 1)}, (1, 1, 9, 9))
    A("edge_pool_padding", "AvgPool2d", {"kernel_size": (2, 6), "padding": (1, 3)}, (1, 1, 9, 9))

    # 'same' with even kernels, dilation, padding modes ------------------------------------
    for d in (1, 2, 3):
        for k in (2, 4, 1, 3):
            for dil in (1, 2, 3):
                L = r.choice([5, 6, 7, 8]) if d < 3 else r.choice([5, 6])
                A("edge_same_even_kernel_dilation", "Conv%dd" % d,
                  {"in_channels": 2, "out_channels": 3, "kernel_size": k, "padding": "same", "dilation": dil},
                  (1, 2) + (L + dil * k,) * d)
        for pm in ("reflect", "circular", "replicate"):
            A("edge_same_even_kernel_dilation", "Conv%dd" % d,
              {"in_channels": 1, "out_channels": 1, "kernel_size": 4, "padding": "same", "dilation": 1,
               "padding_mode": pm}, (1, 1) + (7,) * d)
    A("edge_same_even_kernel_dilation", "Conv2d",
      {"in_channels": 1, "out_channels": 1, "kernel_size": (2, 3), "padding": "same", "dilation": (3, 1)},
      (1, 1, 9, 9))
    A("edge_same_even_kernel_dilation", "Conv2d",
      {"in_channels": 1, "out_channels": 1, "kernel_size": 6, "padding": "same"}, (1, 1, 3, 3),
      note="same padding larger than the input")

    # 'same' with stride > 1 -> construct error; stride given as 1-tuples is fine ----------
    for d in (1, 2, 3):
        A("edge_same_with_stride", "Conv%dd" % d,
          {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "stride": 2, "padding": "same"}, (1, 1) + (8,) * d)
        A("edge_same_with_stride", "Conv%dd" % d,
          {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "stride": (1,) * d, "padding": "same"},
          (1, 1) + (8,) * d)
    A("edge_same_with_stride", "Conv2d",
      {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "stride": (1, 2), "padding": "same"}, (1, 1, 8, 8))
    A("edge_same_with_stride", "Conv3d",
      {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "stride": (1, 1, 2), "padding": "same"},
      (1, 1, 8, 8, 8))

    # 'valid' and bad padding strings ---------------------------------------------------------
    for d in (1, 2, 3):
        A("edge_valid", "Conv%dd" % d,
          {"in_channels": 2, "out_channels": 2, "kernel_size": 3, "stride": 2, "padding": "valid"}, (1, 2) + (9,) * d)
        A("edge_valid", "Conv%dd" % d,
          {"in_channels": 2, "out_channels": 2, "kernel_size": 3, "padding": "valid", "dilation": 2},
          (1, 2) + (4,) * d)
        A("edge_valid", "ConvTranspose%dd" % d,
          {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "padding": "valid"}, (1, 1) + (5,) * d)
    A("edge_valid", "Conv2d", {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "padding": "full"},
      (1, 1, 5, 5))
    A("edge_valid", "Conv2d", {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "padding": "SAME"},
      (1, 1, 5, 5))

    # same / valid on transposed conv -------------------------------------------------------
    for d in (1, 2, 3):
        A("edge_same_convtranspose", "ConvTranspose%dd" % d,
          {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "padding": "same"}, (1, 1) + (5,) * d)

    # output_padding vs stride / dilation -----------------------------------------------------
    for d in (1, 2, 3):
        for s, dil, op in ((2, 1, 1), (2, 1, 2), (1, 1, 1), (1, 2, 1), (1, 3, 2), (3, 1, 2), (2, 3, 2),
                           (2, 2, 2), (3, 2, 3), (1, 1, 0)):
            A("edge_output_padding", "ConvTranspose%dd" % d,
              {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "stride": s, "dilation": dil,
               "output_padding": op}, (1, 1) + (5,) * d)
    A("edge_output_padding", "ConvTranspose2d",
      {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "stride": (2, 1), "dilation": (1, 2),
       "output_padding": (1, 1)}, (1, 1, 5, 5))
    A("edge_output_padding", "ConvTranspose2d",
      {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "stride": (2, 1), "output_padding": (1, 1)},
      (1, 1, 5, 5))
    A("edge_output_padding", "Conv2d",
      {"in_channels": 1, "out_channels": 1, "kernel_size": 3}, (1, 1, 5, 5),
      note="regular conv for comparison: nn.Conv2d has no output_padding kwarg")

    # transposed conv with output size <= 0 ----------------------------------------------------
    for d in (1, 2, 3):
        for pad, L in ((3, 4), (2, 1), (4, 4), (1, 1)):
            A("edge_convtranspose_small_output", "ConvTranspose%dd" % d,
              {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "padding": pad}, (1, 1) + (L,) * d)
        for pad, L in ((3, 4), (4, 4), (2, 2)):
            A("edge_convtranspose_small_output", "ConvTranspose%dd" % d,
              {"in_channels": 2, "out_channels": 2, "kernel_size": 3, "padding": pad, "groups": 2},
              (1, 2) + (L,) * d, note="grouped: may take a different kernel path than groups=1")
        A("edge_convtranspose_small_output", "ConvTranspose%dd" % d,
          {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "padding": (3,) + (0,) * (d - 1)},
          (1, 1) + (4,) * d, note="only the first spatial dim works out to 0")

    # invalid groups ------------------------------------------------------------------------
    for d in (1, 2, 3):
        for layer in ("Conv%dd" % d, "ConvTranspose%dd" % d):
            for inc, outc, g in ((3, 4, 2), (4, 3, 2), (4, 4, 0), (4, 4, -2), (4, 4, 4), (6, 4, 4), (4, 4, 8)):
                A("edge_invalid_groups", layer,
                  {"in_channels": inc, "out_channels": outc, "kernel_size": 3, "groups": g},
                  (1, inc) + (6,) * d)

    # in_channels / features mismatch --------------------------------------------------------
    for d in (1, 2, 3):
        A("edge_channel_mismatch", "Conv%dd" % d, {"in_channels": 3, "out_channels": 4, "kernel_size": 3},
          (1, 2) + (6,) * d)
        A("edge_channel_mismatch", "Conv%dd" % d,
          {"in_channels": 4, "out_channels": 4, "kernel_size": 1, "groups": 2}, (1, 6) + (6,) * d)
        A("edge_channel_mismatch", "ConvTranspose%dd" % d,
          {"in_channels": 3, "out_channels": 4, "kernel_size": 3}, (1, 2) + (6,) * d)
        A("edge_channel_mismatch", "BatchNorm%dd" % d, {"num_features": 3}, (1, 4) + (5,) * d)
        A("edge_channel_mismatch", "BatchNorm%dd" % d, {"num_features": 3, "affine": False,
                                                        "track_running_stats": False}, (1, 4) + (5,) * d)
        for aff in (False, True):
            A("edge_channel_mismatch", "InstanceNorm%dd" % d, {"num_features": 3, "affine": aff},
              (1, 4) + (5,) * d)
        A("edge_channel_mismatch", "InstanceNorm%dd" % d, {"num_features": 3, "track_running_stats": True},
          (1, 4) + (5,) * d)
    A("edge_channel_mismatch", "GroupNorm", {"num_groups": 2, "num_channels": 4}, (1, 6, 5, 5))
    A("edge_channel_mismatch", "GroupNorm", {"num_groups": 2, "num_channels": 4, "affine": False}, (1, 6, 5, 5))
    A("edge_channel_mismatch", "GroupNorm", {"num_groups": 2, "num_channels": 4, "affine": False}, (1, 5, 5, 5))
    A("edge_channel_mismatch", "LayerNorm", {"normalized_shape": 8}, (1, 4, 6))
    A("edge_channel_mismatch", "LayerNorm", {"normalized_shape": (4, 6)}, (1, 6, 4))
    A("edge_channel_mismatch", "LayerNorm", {"normalized_shape": (4, 6), "elementwise_affine": False}, (1, 6, 4))
    A("edge_channel_mismatch", "PReLU", {"num_parameters": 3}, (1, 4, 5, 5))
    A("edge_channel_mismatch", "PReLU", {"num_parameters": 3}, (1, 3, 5, 5))
    A("edge_channel_mismatch", "PReLU", {"num_parameters": 5}, (1, 3, 5))

    # Linear in_features mismatch -------------------------------------------------------------
    for fin, last, extra in ((10, 9, ()), (10, 11, ()), (10, 10, (3,)), (10, 5, (2,)), (1, 2, ()),
                             (64, 32, (2, 2)), (4096, 4095, ()), (10, 1, ())):
        A("edge_linear_mismatch", "Linear", {"in_features": fin, "out_features": 3}, (1,) + extra + (last,))
    A("edge_linear_mismatch", "Linear", {"in_features": 12, "out_features": 3}, (1, 3, 4),
      note="needs Flatten first: Linear only looks at the last dim")

    # spatial size 1 ---------------------------------------------------------------------------
    for d in (1, 2, 3):
        one = (1,) * d
        A("edge_spatial_1", "Conv%dd" % d, {"in_channels": 2, "out_channels": 3, "kernel_size": 1}, (1, 2) + one)
        A("edge_spatial_1", "Conv%dd" % d, {"in_channels": 2, "out_channels": 3, "kernel_size": 3, "padding": 1,
                                             "stride": 2}, (1, 2) + one)
        A("edge_spatial_1", "Conv%dd" % d, {"in_channels": 2, "out_channels": 3, "kernel_size": 3,
                                             "padding": "same"}, (1, 2) + one)
        A("edge_spatial_1", "ConvTranspose%dd" % d, {"in_channels": 2, "out_channels": 3, "kernel_size": 2,
                                                      "stride": 2}, (1, 2) + one)
        A("edge_spatial_1", "MaxPool%dd" % d, {"kernel_size": 1}, (1, 2) + one)
        A("edge_spatial_1", "MaxPool%dd" % d, {"kernel_size": 2, "ceil_mode": True}, (1, 2) + one)
        A("edge_spatial_1", "MaxPool%dd" % d, {"kernel_size": 3, "stride": 2, "padding": 1}, (1, 2) + one)
        A("edge_spatial_1", "AvgPool%dd" % d, {"kernel_size": 3, "stride": 2, "padding": 1}, (1, 2) + one)
        A("edge_spatial_1", "AdaptiveAvgPool%dd" % d, {"output_size": 1}, (1, 2) + one)
        A("edge_spatial_1", "AdaptiveMaxPool%dd" % d, {"output_size": 3}, (1, 2) + one)
        A("edge_spatial_1", "BatchNorm%dd" % d, {"num_features": 2}, (1, 2) + one)
        A("edge_spatial_1", "BatchNorm%dd" % d, {"num_features": 2, "track_running_stats": False}, (1, 2) + one)
        A("edge_spatial_1", "InstanceNorm%dd" % d, {"num_features": 2}, (1, 2) + one)
        A("edge_spatial_1", "InstanceNorm%dd" % d, {"num_features": 2, "track_running_stats": True}, (1, 2) + one)
        A("edge_spatial_1", "Upsample", {"scale_factor": 2}, (1, 2) + one)
        A("edge_spatial_1", "Upsample", {"scale_factor": 0.5}, (1, 2) + one)
    A("edge_spatial_1", "BatchNorm1d", {"num_features": 5}, (1, 5))
    A("edge_spatial_1", "BatchNorm1d", {"num_features": 5, "track_running_stats": False}, (1, 5))
    A("edge_spatial_1", "GroupNorm", {"num_groups": 2, "num_channels": 4}, (1, 4, 1, 1))
    A("edge_spatial_1", "GroupNorm", {"num_groups": 4, "num_channels": 4}, (1, 4, 1, 1))
    A("edge_spatial_1", "ReflectionPad2d", {"padding": 1}, (1, 2, 1, 1))
    A("edge_spatial_1", "ReplicationPad2d", {"padding": 1}, (1, 2, 1, 1))
    A("edge_spatial_1", "ZeroPad2d", {"padding": 1}, (1, 2, 1, 1))
    A("edge_spatial_1", "PixelUnshuffle", {"downscale_factor": 1}, (1, 2, 1, 1))
    A("edge_spatial_1", "PixelShuffle", {"upscale_factor": 2}, (1, 4, 1, 1))
    A("edge_spatial_1", "Upsample", {"scale_factor": 2, "mode": "bilinear", "align_corners": True}, (1, 2, 1, 1))
    A("edge_spatial_1", "Upsample", {"size": 5, "mode": "bicubic"}, (1, 2, 1, 1))
    A("edge_spatial_1", "Flatten", {}, (1, 2, 1, 1))

    # large widths (tiny spatial sizes) ---------------------------------------------------------
    W = 4096
    A("edge_large", "Conv1d", {"in_channels": 2, "out_channels": 3, "kernel_size": 7, "stride": 2, "padding": 3},
      (1, 2, W))
    A("edge_large", "Conv1d", {"in_channels": W, "out_channels": 8, "kernel_size": 1}, (1, W, 3))
    A("edge_large", "Conv2d", {"in_channels": 1, "out_channels": 2, "kernel_size": 3, "padding": 1}, (1, 1, 2, W))
    A("edge_large", "Conv2d", {"in_channels": W, "out_channels": W, "kernel_size": 1, "groups": 64}, (1, W, 1, 1))
    A("edge_large", "Conv2d", {"in_channels": W, "out_channels": W, "kernel_size": 1, "groups": W}, (1, W, 2, 2))
    A("edge_large", "Conv2d", {"in_channels": 512, "out_channels": W, "kernel_size": 3, "padding": 1}, (1, 512, 2, 2))
    A("edge_large", "Conv3d", {"in_channels": 1, "out_channels": 2, "kernel_size": 3, "padding": 1}, (1, 1, 1, 2, W))
    A("edge_large", "ConvTranspose1d", {"in_channels": 2, "out_channels": 2, "kernel_size": 4, "stride": 2,
                                        "padding": 1}, (1, 2, W))
    A("edge_large", "ConvTranspose2d", {"in_channels": W, "out_channels": 16, "kernel_size": 2, "stride": 2},
      (1, W, 1, 1))
    A("edge_large", "MaxPool1d", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, (1, 1, W + 1))
    A("edge_large", "MaxPool2d", {"kernel_size": 2}, (1, 1, 2, W))
    A("edge_large", "AvgPool1d", {"kernel_size": 4, "stride": 3, "ceil_mode": True}, (1, 1, W))
    A("edge_large", "AdaptiveAvgPool1d", {"output_size": 7}, (1, 1, W))
    A("edge_large", "AdaptiveMaxPool2d", {"output_size": (None, 5)}, (1, 1, 2, W))
    A("edge_large", "Linear", {"in_features": W, "out_features": W}, (1, W))
    A("edge_large", "Linear", {"in_features": W, "out_features": 1000}, (1, W))
    A("edge_large", "Linear", {"in_features": 25088, "out_features": W}, (1, 25088))
    A("edge_large", "BatchNorm2d", {"num_features": W}, (1, W, 1, 2))
    A("edge_large", "BatchNorm1d", {"num_features": W}, (1, W))
    A("edge_large", "GroupNorm", {"num_groups": 32, "num_channels": W}, (1, W, 1, 1))
    A("edge_large", "LayerNorm", {"normalized_shape": W}, (1, 2, W))
    A("edge_large", "InstanceNorm1d", {"num_features": W, "affine": True}, (1, W, 2))
    A("edge_large", "PReLU", {"num_parameters": W}, (1, W, 1))
    A("edge_large", "Upsample", {"scale_factor": 2, "mode": "linear"}, (1, 1, W))
    A("edge_large", "Upsample", {"scale_factor": 0.3}, (1, 1, W))
    A("edge_large", "Flatten", {}, (1, W, 1, 1))
    A("edge_large", "PixelShuffle", {"upscale_factor": 64}, (1, W, 1, 1))
    A("edge_large", "ChannelShuffle", {"groups": 64}, (1, W, 1, 1))
    A("edge_large", "ZeroPad1d", {"padding": (1, 2)}, (1, 1, W))

    # padding_mode reflect / circular / replicate --------------------------------------------
    for d in (1, 2, 3):
        for pm in ("reflect", "circular", "replicate"):
            for pad, L in ((1, 1), (1, 2), (2, 2), (2, 3), (3, 2), (4, 2)):
                A("edge_padding_mode", "Conv%dd" % d,
                  {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "padding": pad, "padding_mode": pm},
                  (1, 1) + (L,) * d)
        A("edge_padding_mode", "ConvTranspose%dd" % d,
          {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "padding": 1, "padding_mode": "reflect"},
          (1, 1) + (5,) * d)
        A("edge_padding_mode", "Conv%dd" % d,
          {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "padding": 1, "padding_mode": "mirror"},
          (1, 1) + (5,) * d)
        A("edge_padding_mode", "Conv%dd" % d,
          {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "padding": 1, "padding_mode": "zeros"},
          (1, 1) + (5,) * d)
    A("edge_padding_mode", "Conv2d",
      {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "padding": (0, 2), "padding_mode": "reflect"},
      (1, 1, 1, 3))
    A("edge_padding_mode", "Conv2d",
      {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "padding": (2, 0), "padding_mode": "circular"},
      (1, 1, 2, 3))

    # Flatten / Unflatten invalid dims -----------------------------------------------------------
    for kw, shape in (({"start_dim": 4}, (1, 2, 3, 4)), ({"start_dim": 3}, (1, 2, 3, 4)),
                      ({"end_dim": 4}, (1, 2, 3, 4)), ({"start_dim": -5}, (1, 2, 3, 4)),
                      ({"start_dim": -4}, (1, 2, 3, 4)), ({"start_dim": 2, "end_dim": 1}, (1, 2, 3, 4)),
                      ({"start_dim": -1, "end_dim": 1}, (1, 2, 3, 4)), ({"start_dim": 1, "end_dim": -3}, (1, 2, 3, 4)),
                      ({"start_dim": 1, "end_dim": -4}, (1, 2, 3, 4)), ({"start_dim": 0, "end_dim": -1}, (1, 2, 3, 4)),
                      ({"start_dim": 2}, (1, 5)), ({"start_dim": 1}, (1, 5)), ({"start_dim": 0}, (1,)),
                      ({"start_dim": 1}, (1,)), ({"start_dim": -1, "end_dim": -1}, (1, 3, 4)),
                      ({"start_dim": 1, "end_dim": 2}, (1, 0, 4)), ({"start_dim": 1.0}, (1, 2, 3))):
        A("edge_flatten", "Flatten", kw, shape)
    for kw, shape in (({"dim": 1, "unflattened_size": (2, -1)}, (1, 12)),
                      ({"dim": 1, "unflattened_size": (-1, -1)}, (1, 12)),
                      ({"dim": 1, "unflattened_size": (5, -1)}, (1, 12)),
                      ({"dim": 1, "unflattened_size": (2, 5)}, (1, 12)),
                      ({"dim": -1, "unflattened_size": (3, 4)}, (1, 2, 12)),
                      ({"dim": 3, "unflattened_size": (3, 4)}, (1, 2, 12)),
                      ({"dim": 1, "unflattened_size": (12,)}, (1, 12)),
                      ({"dim": 1, "unflattened_size": ()}, (1, 12)),
                      ({"dim": 1, "unflattened_size": [2, 2, 3]}, (1, 12)),
                      ({"dim": 1, "unflattened_size": 12}, (1, 12)),
                      ({"dim": 1, "unflattened_size": (0, -1)}, (1, 0))):
        A("edge_flatten", "Unflatten", kw, shape)

    # Upsample fractional scales: floor of the float product ----------------------------------
    frac_scales = [1.5, 0.5, 2.3, 0.3, 1.7, 0.75, 1 / 3, 2 / 3, 0.1, 1.1, 2.9, 0.7, 1.15, 0.57, 3.3, 0.29]
    modes2d = ["nearest", "nearest-exact", "bilinear", "bicubic", "area"]
    for s in frac_scales:
        # sizes where size*s in binary floating point lands just below an integer
        near = [n for n in range(1, 201) if n * s < round(n * s) and round(n * s) - n * s < 1e-9]
        for n in [1, 3, 7, 10, 13] + near[:3]:
            A("edge_upsample_fractional", "Upsample", {"scale_factor": s}, (1, 1, n),
              note="size*scale = %r" % (n * s))
        n2 = near[0] if near else 11
        for mode in r.sample(modes2d, 2):
            for rc in (None, True, False):
                kw = {"scale_factor": s, "mode": mode}
                if rc is not None:
                    kw["recompute_scale_factor"] = rc
                A("edge_upsample_fractional", "Upsample", kw, (1, 1, n2, 9),
                  note="H*scale = %r" % (n2 * s))
    for s in ((1.5, 2.3), (0.5, 2), (1.15, 0.57)):
        A("edge_upsample_fractional", "Upsample", {"scale_factor": s, "mode": "bilinear"}, (1, 1, 100, 100))
    A("edge_upsample_fractional", "Upsample", {"scale_factor": (1.5, 2.3, 0.3), "mode": "trilinear"},
      (1, 1, 7, 10, 13))

    # Upsample invalid combinations -----------------------------------------------------------
    up_bad = [
        ({"scale_factor": 2, "mode": "bilinear"}, (1, 1, 8)),
        ({"scale_factor": 2, "mode": "linear"}, (1, 1, 8, 8)),
        ({"scale_factor": 2, "mode": "trilinear"}, (1, 1, 8, 8)),
        ({"scale_factor": 2, "mode": "bicubic"}, (1, 1, 4, 4, 4)),
        ({"scale_factor": 2, "mode": "bilinear"}, (1, 1, 4, 4, 4)),
        ({"scale_factor": 2, "mode": "nearest", "align_corners": True}, (1, 1, 8, 8)),
        ({"scale_factor": 2, "mode": "nearest", "align_corners": False}, (1, 1, 8, 8)),
        ({"scale_factor": 2, "mode": "area", "align_corners": False}, (1, 1, 8, 8)),
        ({"size": 4, "scale_factor": 2}, (1, 1, 8, 8)),
        ({}, (1, 1, 8, 8)),
        ({"size": (4, 5, 6)}, (1, 1, 8, 8)),
        ({"scale_factor": (2, 3, 4)}, (1, 1, 8, 8)),
        ({"size": 0}, (1, 1, 8, 8)),
        ({"scale_factor": 0.1}, (1, 1, 8, 8)),
        ({"scale_factor": 0}, (1, 1, 8, 8)),
        ({"scale_factor": -2}, (1, 1, 8, 8)),
        ({"size": 4, "recompute_scale_factor": True}, (1, 1, 8, 8)),
        ({"scale_factor": 2, "mode": "lanczos"}, (1, 1, 8, 8)),
        ({"scale_factor": 2, "mode": "foo"}, (1, 1, 8, 8)),
        ({"scale_factor": 2}, (1, 8)),
        ({"scale_factor": 2, "mode": "bilinear", "align_corners": True}, (1, 1, 3, 5)),
        ({"size": (5, 7), "mode": "bicubic", "align_corners": True}, (1, 1, 3, 5)),
        ({"size": (None, 7)}, (1, 1, 3, 5)),
    ]
    for kw, shape in up_bad:
        A("edge_upsample_invalid", "Upsample", kw, shape)

    # adaptive pools: None entries, output > input, 0, bad lengths --------------------------
    for kind in ("Avg", "Max"):
        for d in (1, 2, 3):
            lay = "Adaptive%sPool%dd" % (kind, d)
            sp = (5,) * d
            A("edge_adaptive", lay, {"output_size": None}, (1, 2) + sp)
            A("edge_adaptive", lay, {"output_size": 9}, (1, 2) + sp, note="output larger than input")
            A("edge_adaptive", lay, {"output_size": 0}, (1, 2) + sp)
            A("edge_adaptive", lay, {"output_size": (3,) * (d + 1)}, (1, 2) + sp)
            if d > 1:
                A("edge_adaptive", lay, {"output_size": (None,) * d}, (1, 2) + (4, 6, 7)[:d])
                A("edge_adaptive", lay, {"output_size": (None,) + (2,) * (d - 1)}, (1, 2) + (4, 6, 7)[:d])
                A("edge_adaptive", lay, {"output_size": (2,) * (d - 1) + (None,)}, (1, 2) + (4, 6, 7)[:d])
                A("edge_adaptive", lay, {"output_size": (3,)}, (1, 2) + sp)
            A("edge_adaptive", lay, {"output_size": 3}, (1, 2) + (0,) * d)
            A("edge_adaptive", lay, {"output_size": -1}, (1, 2) + sp)

    # normalisation edge cases ----------------------------------------------------------------
    A("edge_norm", "GroupNorm", {"num_groups": 3, "num_channels": 4}, (1, 4, 5))
    A("edge_norm", "GroupNorm", {"num_groups": 0, "num_channels": 4}, (1, 4, 5))
    A("edge_norm", "GroupNorm", {"num_groups": 4, "num_channels": 4}, (1, 4))
    A("edge_norm", "GroupNorm", {"num_groups": 2, "num_channels": 4}, (1, 4))
    A("edge_norm", "GroupNorm", {"num_groups": 2, "num_channels": 4}, (4,))
    for d, bad in ((1, (1, 3, 4, 4)), (2, (1, 3, 4)), (2, (1, 3, 4, 4, 4)), (3, (1, 3, 4, 4)), (1, (1,))):
        A("edge_norm", "BatchNorm%dd" % d, {"num_features": 3}, bad)
    for d, bad in ((1, (1, 3, 4, 4)), (2, (1, 3, 4)), (2, (1, 3, 4, 4, 4)), (3, (1, 3, 4, 4))):
        A("edge_norm", "InstanceNorm%dd" % d, {"num_features": 3}, bad)
    A("edge_norm", "BatchNorm1d", {"num_features": 3, "affine": False, "track_running_stats": False}, (1, 3, 1))
    A("edge_norm", "BatchNorm2d", {"num_features": 3, "affine": False, "track_running_stats": False}, (1, 3, 1, 2))
    A("edge_norm", "BatchNorm2d", {"num_features": 0}, (1, 0, 2, 2))
    A("edge_norm", "LayerNorm", {"normalized_shape": (2, 3, 4)}, (1, 2, 3, 4))
    A("edge_norm", "LayerNorm", {"normalized_shape": (1, 2, 3, 4)}, (1, 2, 3, 4))
    A("edge_norm", "LayerNorm", {"normalized_shape": (2, 3, 4, 5)}, (1, 2, 3, 4))
    A("edge_norm", "LayerNorm", {"normalized_shape": 4, "elementwise_affine": False, "bias": True}, (1, 3, 4))
    A("edge_norm", "LayerNorm", {"normalized_shape": 4, "elementwise_affine": True, "bias": False}, (1, 3, 4))
    A("edge_norm", "LayerNorm", {"normalized_shape": []}, (1, 3, 4))
    A("edge_norm", "InstanceNorm2d", {"num_features": 3, "affine": True, "track_running_stats": True}, (1, 3, 4, 4))

    # train mode (everything else is recorded in eval mode) ------------------------------------
    for d in (1, 2, 3):
        A("edge_train_mode", "BatchNorm%dd" % d, {"num_features": 3}, (1, 3) + (1,) * d, train_mode=True)
        A("edge_train_mode", "BatchNorm%dd" % d, {"num_features": 3}, (1, 3) + (2,) * d, train_mode=True)
        A("edge_train_mode", "InstanceNorm%dd" % d, {"num_features": 3, "track_running_stats": True},
          (1, 3) + (1,) * d, train_mode=True)
    A("edge_train_mode", "BatchNorm1d", {"num_features": 3}, (1, 3), train_mode=True)
    A("edge_train_mode", "BatchNorm1d", {"num_features": 3}, (2, 3), train_mode=True,
      note="batch 2 (deliberately not 1)")
    A("edge_train_mode", "Dropout2d", {"p": 0.5}, (1, 3, 4, 4), train_mode=True)
    A("edge_train_mode", "AlphaDropout", {"p": 0.5}, (1, 3, 4, 4), train_mode=True)
    A("edge_train_mode", "GroupNorm", {"num_groups": 3, "num_channels": 3}, (1, 3, 1, 1), train_mode=True)

    # padding layers ----------------------------------------------------------------------------
    for layer, kw, shape in (
            ("ZeroPad2d", {"padding": -1}, (1, 1, 4, 4)),
            ("ZeroPad2d", {"padding": -2}, (1, 1, 4, 4)),
            ("ZeroPad2d", {"padding": -3}, (1, 1, 4, 4)),
            ("ZeroPad2d", {"padding": (-2, -2, 0, 0)}, (1, 1, 4, 4)),
            ("ZeroPad2d", {"padding": (1, 2)}, (1, 1, 4, 4)),
            ("ZeroPad2d", {"padding": (1, 2, 3)}, (1, 1, 4, 4)),
            ("ZeroPad1d", {"padding": (3, -1)}, (1, 1, 4)),
            ("ZeroPad1d", {"padding": 2}, (1, 1, 4, 4)),
            ("ZeroPad3d", {"padding": (1, 0, 0, 2, 3, -1)}, (1, 1, 4, 4, 4)),
            ("ZeroPad3d", {"padding": 1}, (1, 1, 4, 4)),
            ("ConstantPad2d", {"padding": (-1, -1, 2, 2), "value": 0.5}, (1, 1, 3, 3)),
            ("ConstantPad2d", {"padding": 2, "value": 1}, (1, 1, 3, 3)),
            ("ReflectionPad2d", {"padding": 3}, (1, 1, 3, 4)),
            ("ReflectionPad2d", {"padding": 3}, (1, 1, 4, 4)),
            ("ReflectionPad2d", {"padding": (3, 0, 0, 0)}, (1, 1, 4, 3)),
            ("ReflectionPad2d", {"padding": (0, 0, 3, 0)}, (1, 1, 3, 8)),
            ("ReflectionPad2d", {"padding": -1}, (1, 1, 4, 4)),
            ("ReflectionPad2d", {"padding": 1}, (1, 1, 4)),
            ("ReplicationPad2d", {"padding": 10}, (1, 1, 1, 2)),
            ("ReplicationPad2d", {"padding": -1}, (1, 1, 4, 4)),
            ("ReplicationPad2d", {"padding": 1}, (1, 1, 4)),
            ("ReplicationPad2d", {"padding": (1, 2, 3)}, (1, 1, 4, 4))):
        A("edge_pad", layer, kw, shape)

    # pixel / channel shuffle ------------------------------------------------------------------
    for layer, kw, shape in (
            ("PixelShuffle", {"upscale_factor": 2}, (1, 6, 3, 3)),
            ("PixelShuffle", {"upscale_factor": 3}, (1, 9, 2, 3)),
            ("PixelShuffle", {"upscale_factor": 0}, (1, 4, 2, 2)),
            ("PixelShuffle", {"upscale_factor": 2}, (1, 4, 2)),
            ("PixelShuffle", {"upscale_factor": 2}, (1, 1, 4, 2, 2)),
            ("PixelUnshuffle", {"downscale_factor": 2}, (1, 1, 5, 4)),
            ("PixelUnshuffle", {"downscale_factor": 2}, (1, 1, 4, 5)),
            ("PixelUnshuffle", {"downscale_factor": 3}, (1, 2, 6, 9)),
            ("PixelUnshuffle", {"downscale_factor": 0}, (1, 2, 6, 9)),
            ("PixelUnshuffle", {"downscale_factor": 2}, (1, 4, 4)),
            ("ChannelShuffle", {"groups": 3}, (1, 4, 2, 2)),
            ("ChannelShuffle", {"groups": 1}, (1, 4, 2, 2)),
            ("ChannelShuffle", {"groups": 4}, (1, 4, 2, 2)),
            ("ChannelShuffle", {"groups": 0}, (1, 4, 2, 2)),
            ("ChannelShuffle", {"groups": 2}, (1, 4)),
            ("ChannelShuffle", {"groups": 2}, (1, 4, 3))):
        A("edge_shuffle", layer, kw, shape)

    # Softmax dim ---------------------------------------------------------------------------------
    for layer in ("Softmax", "LogSoftmax"):
        for shape in ((1, 5), (1, 3, 4), (1, 3, 4, 5), (1, 2, 3, 4, 5)):
            A("edge_softmax_dim", layer, {}, shape, note="dim=None: implicit dim choice")
            A("edge_softmax_dim", layer, {"dim": len(shape)}, shape)
            A("edge_softmax_dim", layer, {"dim": -len(shape)}, shape)

    # activation / dropout parameters --------------------------------------------------------
    for layer, kw, shape in (
            ("Hardtanh", {"min_val": 1.0, "max_val": -1.0}, (1, 4)),
            ("Hardtanh", {"min_val": 1.0, "max_val": 1.0}, (1, 4)),
            ("GELU", {"approximate": "fast"}, (1, 4)),
            ("PReLU", {"num_parameters": 0}, (1, 4)),
            ("PReLU", {"num_parameters": 4}, (1, 4)),
            ("PReLU", {"num_parameters": 4}, (1, 3, 4)),
            ("PReLU", {"num_parameters": 3}, (1, 3, 4)),
            ("PReLU", {"num_parameters": 1}, (1,)),
            ("PReLU", {"num_parameters": 2}, (1,)),
            ("Dropout", {"p": 1.5}, (1, 4)),
            ("Dropout", {"p": -0.1}, (1, 4)),
            ("AlphaDropout", {"p": 2.0}, (1, 4)),
            ("Dropout1d", {"p": 0.5}, (1, 3, 4, 4)),
            ("Dropout1d", {"p": 0.5}, (1, 3)),
            ("Dropout2d", {"p": 0.5}, (1, 3, 4)),
            ("Dropout2d", {"p": 0.5}, (1, 3, 4, 4, 4)),
            ("Dropout2d", {"p": 0.5}, (1, 3)),
            ("Dropout3d", {"p": 0.5}, (1, 3, 4, 4)),
            ("Dropout3d", {"p": 0.5}, (1, 3, 4, 4, 4, 4)),
            ("LeakyReLU", {"negative_slope": -0.5}, (1, 4)),
            ("ELU", {"alpha": -1.0}, (1, 4)),
            ("Identity", {"in_features": 3}, (1, 5))):
        A("edge_activation_params", layer, kw, shape)

    # zero / negative kernel and stride ------------------------------------------------------
    for d in (1, 2):
        for layer, kw in (("Conv%dd" % d, {"in_channels": 1, "out_channels": 1, "kernel_size": 0}),
                          ("Conv%dd" % d, {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "stride": 0}),
                          ("Conv%dd" % d, {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "padding": -1}),
                          ("Conv%dd" % d, {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "dilation": 0}),
                          ("ConvTranspose%dd" % d, {"in_channels": 1, "out_channels": 1, "kernel_size": 3,
                                                    "stride": 0}),
                          ("MaxPool%dd" % d, {"kernel_size": 0}),
                          ("MaxPool%dd" % d, {"kernel_size": 2, "stride": 0}),
                          ("MaxPool%dd" % d, {"kernel_size": 2, "dilation": 0}),
                          ("AvgPool%dd" % d, {"kernel_size": 0}),
                          ("AvgPool%dd" % d, {"kernel_size": 2, "stride": 0}),
                          ("AvgPool%dd" % d, {"kernel_size": 2, "padding": -1}),
                          ("Conv%dd" % d, {"in_channels": 0, "out_channels": 1, "kernel_size": 1}),
                          ("Conv%dd" % d, {"in_channels": 1, "out_channels": 0, "kernel_size": 1})):
            A("edge_zero_kernel", layer, kw, (1, 1) + (6,) * d)
    A("edge_zero_kernel", "Linear", {"in_features": 0, "out_features": 3}, (1, 0))
    A("edge_zero_kernel", "Linear", {"in_features": 3, "out_features": 0}, (1, 3))
    A("edge_zero_kernel", "AvgPool2d", {"kernel_size": 2, "divisor_override": 0}, (1, 1, 4, 4))

    # unbatched inputs ------------------------------------------------------------------------
    U = "unbatched"
    A(U, "Conv1d", {"in_channels": 3, "out_channels": 4, "kernel_size": 3}, (3, 10))
    A(U, "Conv2d", {"in_channels": 3, "out_channels": 4, "kernel_size": 3, "padding": 1}, (3, 8, 8))
    A(U, "Conv3d", {"in_channels": 2, "out_channels": 4, "kernel_size": 3}, (2, 5, 6, 7))
    A(U, "Conv2d", {"in_channels": 3, "out_channels": 4, "kernel_size": 3, "padding": "same",
                    "padding_mode": "reflect"}, (3, 8, 8))
    A(U, "Conv2d", {"in_channels": 3, "out_channels": 4, "kernel_size": 3}, (8, 8),
      note="2-D input to Conv2d")
    A(U, "ConvTranspose1d", {"in_channels": 3, "out_channels": 2, "kernel_size": 3, "stride": 2}, (3, 10))
    A(U, "ConvTranspose2d", {"in_channels": 3, "out_channels": 2, "kernel_size": 4, "stride": 2, "padding": 1},
      (3, 5, 5))
    A(U, "ConvTranspose3d", {"in_channels": 3, "out_channels": 2, "kernel_size": 2, "stride": 2}, (3, 2, 3, 4))
    A(U, "MaxPool1d", {"kernel_size": 2}, (3, 9))
    A(U, "MaxPool2d", {"kernel_size": 3, "stride": 2, "ceil_mode": True}, (3, 10, 10))
    A(U, "MaxPool3d", {"kernel_size": 2}, (2, 4, 5, 6))
    A(U, "AvgPool1d", {"kernel_size": 3}, (3, 9))
    A(U, "AvgPool2d", {"kernel_size": 2}, (3, 9, 9))
    A(U, "AvgPool3d", {"kernel_size": 2}, (2, 4, 5, 6))
    A(U, "AdaptiveAvgPool1d", {"output_size": 4}, (3, 9))
    A(U, "AdaptiveAvgPool2d", {"output_size": (2, None)}, (3, 9, 7))
    A(U, "AdaptiveAvgPool3d", {"output_size": 2}, (3, 5, 6, 7))
    A(U, "AdaptiveMaxPool1d", {"output_size": 4}, (3, 9))
    A(U, "AdaptiveMaxPool2d", {"output_size": 1}, (3, 9, 7))
    A(U, "AdaptiveMaxPool3d", {"output_size": (1, None, 2)}, (3, 5, 6, 7))
    A(U, "Linear", {"in_features": 10, "out_features": 4}, (10,))
    A(U, "Linear", {"in_features": 10, "out_features": 4}, (3, 10))
    A(U, "Flatten", {}, (3, 4, 5))
    A(U, "Flatten", {}, (3,))
    A(U, "Flatten", {"start_dim": 0}, (3, 4, 5))
    A(U, "Unflatten", {"dim": 0, "unflattened_size": (2, 3)}, (6,))
    A(U, "InstanceNorm1d", {"num_features": 3}, (3, 10))
    A(U, "InstanceNorm2d", {"num_features": 3, "affine": True}, (3, 5, 5))
    A(U, "InstanceNorm3d", {"num_features": 3}, (3, 4, 4, 4))
    A(U, "BatchNorm1d", {"num_features": 3}, (3,))
    A(U, "BatchNorm2d", {"num_features": 3}, (3, 5, 5))
    A(U, "GroupNorm", {"num_groups": 1, "num_channels": 3}, (3, 5, 5))
    A(U, "LayerNorm", {"normalized_shape": 5}, (3, 5))
    A(U, "LayerNorm", {"normalized_shape": 5}, (5,))
    A(U, "PReLU", {"num_parameters": 3}, (3, 5, 5))
    A(U, "PReLU", {"num_parameters": 5}, (5,))
    A(U, "Softmax", {}, (4,))
    A(U, "Softmax", {}, (3, 4, 5))
    A(U, "LogSoftmax", {}, (3, 4))
    A(U, "ReLU", {}, (3, 4))
    A(U, "Dropout1d", {"p": 0.5}, (3, 4))
    A(U, "Dropout2d", {"p": 0.5}, (3, 4, 4))
    A(U, "Dropout3d", {"p": 0.5}, (3, 4, 4, 4))
    A(U, "Upsample", {"scale_factor": 2}, (3, 4, 4), note="3-D input is taken as batched 1-D")
    A(U, "Upsample", {"scale_factor": 2, "mode": "bilinear"}, (3, 4, 4))
    A(U, "ZeroPad2d", {"padding": 1}, (3, 4, 4))
    A(U, "ZeroPad1d", {"padding": 1}, (3, 4))
    A(U, "ZeroPad3d", {"padding": 1}, (3, 4, 4, 4))
    A(U, "ReflectionPad2d", {"padding": 1}, (3, 4, 4))
    A(U, "ReplicationPad2d", {"padding": 1}, (3, 4, 4))
    A(U, "ConstantPad2d", {"padding": 1, "value": 0.0}, (4, 4))
    A(U, "PixelShuffle", {"upscale_factor": 2}, (4, 3, 3))
    A(U, "PixelUnshuffle", {"downscale_factor": 2}, (1, 4, 4))
    A(U, "ChannelShuffle", {"groups": 2}, (4, 3, 3))


# ---- LPPool (separate file: lppool_cases_torch.jsonl) ----------------------------------------
#
# nn.LPPool1d/2d(norm_type, kernel_size, stride=None, ceil_mode=False).  F.lp_pool*d is
# avg_pool*d(x.pow(p), kernel_size, stride, padding=0, ceil_mode) * prod(kernel_size), then
# ** (1/p); so the shape is avg_pool's with padding 0.  norm_type stays within 1, 2, 3, 1.5
# (and a few other finite values in the edge cases): inf would not survive JSON as a number.

LP_NORMS = [1, 2, 3, 1.5]


def gen_lppool_random(c: Cases, d: int, n: int, unbatched: bool = False):
    r = c.r
    for _ in range(n):
        k = c.it(d, 1, 5, p_tuple=0.4)
        kd = c.per_dim(k, d)
        kw = {"norm_type": r.choice(LP_NORMS), "kernel_size": k}
        u = r.random()
        if u < 0.3:
            pass                                     # stride left to its default (kernel_size)
        elif u < 0.38:
            kw["stride"] = None
        else:
            kw["stride"] = c.it(d, 1, 4, p_tuple=0.4)
        v = r.random()
        if v < 0.45:
            kw["ceil_mode"] = True
        elif v < 0.85:
            kw["ceil_mode"] = False
        hi = {1: 120, 2: 40}[d]
        # mostly inputs at least as large as the kernel; sometimes smaller along a dim
        sp = tuple(r.randint(kk if r.random() < 0.92 else 1, max(kk, hi)) for kk in kd)
        ch = r.randint(1, 4)
        shape = (ch,) + sp if unbatched else (1, ch) + sp
        c.add("unbatched" if unbatched else "random", "LPPool%dd" % d, kw, shape)


def gen_lppool_edges(c: Cases):
    r = c.r
    A = c.add

    # kernel larger than the input (floor and ceil mode; one dim or all) --------------------
    for d in (1, 2):
        L = "LPPool%dd" % d
        for ceil in (False, True):
            for k, s, n in ((5, None, 2), (5, 2, 3), (5, 2, 1), (3, None, 2), (3, 3, 2), (4, 1, 3),
                            (2, 2, 1)):
                kw = {"norm_type": 2, "kernel_size": k}
                if s is not None:
                    kw["stride"] = s
                kw["ceil_mode"] = ceil
                A("edge_lppool_kernel_larger_than_input", L, kw, (1, 1) + (n,) * d)
        if d == 2:
            for ceil in (False, True):
                A("edge_lppool_kernel_larger_than_input", L,
                  {"norm_type": 1, "kernel_size": (2, 5), "ceil_mode": ceil}, (1, 2, 8, 4),
                  note="only W is smaller than the kernel")
                A("edge_lppool_kernel_larger_than_input", L,
                  {"norm_type": 3, "kernel_size": (6, 2), "stride": (2, 1), "ceil_mode": ceil}, (1, 2, 5, 9),
                  note="only H is smaller than the kernel")
        A("edge_lppool_kernel_larger_than_input", L, {"norm_type": 2, "kernel_size": 3}, (1, 1) + (3,) * d,
          note="input exactly the kernel size")

    # zero / negative kernel, stride and input sizes ---------------------------------------------
    for d in (1, 2):
        L = "LPPool%dd" % d
        for kw in ({"norm_type": 2, "kernel_size": 0},
                   {"norm_type": 2, "kernel_size": 0, "stride": 1},
                   {"norm_type": 2, "kernel_size": 2, "stride": 0},
                   {"norm_type": 2, "kernel_size": -2},
                   {"norm_type": 2, "kernel_size": -2, "stride": 1},
                   {"norm_type": 2, "kernel_size": 2, "stride": -1},
                   {"norm_type": 1.5, "kernel_size": 2, "stride": -2, "ceil_mode": True}):
            A("edge_lppool_zero_negative", L, kw, (1, 1) + (6,) * d)
        A("edge_lppool_zero_negative", L, {"norm_type": 2, "kernel_size": 2}, (1, 1) + (0,) * d,
          note="empty spatial input")
        A("edge_lppool_zero_negative", L, {"norm_type": 2, "kernel_size": 2}, (0, 1) + (4,) * d,
          note="batch 0")
        A("edge_lppool_zero_negative", L, {"norm_type": 2, "kernel_size": 2}, (1, 0) + (4,) * d,
          note="0 channels")
        A("edge_lppool_zero_negative", L, {"norm_type": 0, "kernel_size": 2}, (1, 1) + (6,) * d,
          note="norm_type 0 is rejected by the constructor")
        A("edge_lppool_zero_negative", L, {"norm_type": 0.0, "kernel_size": 2}, (1, 1) + (6,) * d)
    A("edge_lppool_zero_negative", "LPPool2d", {"norm_type": 2, "kernel_size": (2, 0)}, (1, 1, 6, 6))
    A("edge_lppool_zero_negative", "LPPool2d", {"norm_type": 2, "kernel_size": 2, "stride": (1, 0)}, (1, 1, 6, 6))
    A("edge_lppool_zero_negative", "LPPool2d", {"norm_type": 2, "kernel_size": (3, -1)}, (1, 1, 6, 6))
    A("edge_lppool_zero_negative", "LPPool2d", {"norm_type": 2, "kernel_size": 2}, (1, 1, 0, 4),
          note="one empty spatial dim")

    # ceil_mode: the last window starting past the input is dropped (padding is always 0) --------
    for d in (1, 2):
        L = "LPPool%dd" % d
        for k, s, n in ((1, 2, 4), (1, 3, 7), (2, 3, 8), (3, 2, 8), (3, 2, 9), (4, 3, 11)):
            for ceil in (False, True):
                A("edge_lppool_ceil_mode_pairs", L,
                  {"norm_type": r.choice(LP_NORMS), "kernel_size": k, "stride": s, "ceil_mode": ceil},
                  (1, 1) + (n,) * d)

    # kernel / stride forms ------------------------------------------------------------------------
    for kw, shape in (
            ({"norm_type": 2, "kernel_size": (3,)}, (1, 2, 10)),
            ({"norm_type": 2, "kernel_size": 3, "stride": (2,)}, (1, 2, 10)),
            ({"norm_type": 2, "kernel_size": 2, "stride": None, "ceil_mode": True}, (1, 2, 9)),
            ({"norm_type": 2, "kernel_size": (2, 2)}, (1, 2, 10))):
        A("edge_lppool_args", "LPPool1d", kw, shape)
    for kw, shape in (
            ({"norm_type": 2, "kernel_size": (3, 2, 1)}, (1, 2, 10, 10)),
            ({"norm_type": 2, "kernel_size": (3,)}, (1, 2, 10, 10)),
            ({"norm_type": 2, "kernel_size": 3, "stride": (2, 1, 1)}, (1, 2, 10, 10)),
            ({"norm_type": 2, "kernel_size": 3, "stride": (2,)}, (1, 2, 10, 10)),
            ({"norm_type": 2, "kernel_size": (2, 3), "stride": (1, 2)}, (1, 2, 10, 10)),
            ({"norm_type": 2, "kernel_size": (2, 3), "stride": 1}, (1, 2, 10, 10)),
            ({"norm_type": 2, "kernel_size": 2, "stride": (3, 1), "ceil_mode": True}, (1, 2, 10, 10)),
            ({"norm_type": 2.0, "kernel_size": 2}, (1, 2, 10, 10)),
            ({"norm_type": -1, "kernel_size": 2}, (1, 2, 10, 10)),
            ({"norm_type": 0.5, "kernel_size": 3, "stride": 2}, (1, 2, 10, 10)),
            ({"norm_type": 2, "kernel_size": 1}, (1, 2, 10, 10)),
            ({"norm_type": 2, "kernel_size": 4, "stride": 1}, (1, 2, 10, 10))):
        A("edge_lppool_args", "LPPool2d", kw, shape)

    # input rank --------------------------------------------------------------------------------
    for layer, shape in (("LPPool1d", (10,)), ("LPPool1d", (1, 2, 10, 10)), ("LPPool1d", (2, 10)),
                         ("LPPool2d", (10, 10)), ("LPPool2d", (1, 2, 10, 10, 10)), ("LPPool2d", (2, 10, 10))):
        A("edge_lppool_rank", layer, {"norm_type": 2, "kernel_size": 2}, shape)

    # large -------------------------------------------------------------------------------------
    A("edge_large", "LPPool1d", {"norm_type": 2, "kernel_size": 3, "stride": 2, "ceil_mode": True}, (1, 1, 4097))
    A("edge_large", "LPPool2d", {"norm_type": 2, "kernel_size": 2}, (1, 1, 2, 4096))
    A("edge_large", "LPPool2d", {"norm_type": 1, "kernel_size": 7, "stride": 1}, (1, 2048, 7, 7))


def build_lppool_cases(seed: int) -> list[dict]:
    c = Cases(seed)
    gen_lppool_random(c, 1, 20)
    gen_lppool_random(c, 2, 28)
    gen_lppool_random(c, 1, 5, unbatched=True)
    gen_lppool_random(c, 2, 7, unbatched=True)
    gen_lppool_edges(c)
    return c.items


# ---- sizes: functional ops, crop/pad to a size (separate file: sizes_cases_torch.jsonl) -------
#
# cnncalc's layers for what model code writes as a tensor method or function (x.mean(dims),
# x.transpose, x.reshape, F.interpolate, F.pad to another tensor's size) and torchvision's
# CenterCrop, each run through the nn.Module below (named as cnncalc's kind) or torchvision's own.
# Same record format as shape_cases_torch.jsonl; `layer` is cnncalc's kind name.

import torch.nn.functional as F  # noqa: E402


class _Reduce(nn.Module):
    method = ""

    def __init__(self, dim=None, keepdim=False):
        super().__init__()
        self.dim, self.keepdim = dim, keepdim

    def forward(self, x):
        return getattr(x, self.method)(self.dim, self.keepdim)


class Mean(_Reduce):
    method = "mean"


class ReduceSum(_Reduce):
    method = "sum"


class Amax(_Reduce):
    method = "amax"


class Amin(_Reduce):
    method = "amin"


class Transpose(nn.Module):
    def __init__(self, dim0, dim1):
        super().__init__()
        self.dim0, self.dim1 = dim0, dim1

    def forward(self, x):
        return x.transpose(self.dim0, self.dim1)


class Reshape(nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.reshape(self.shape)


class Squeeze(nn.Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return x.squeeze() if self.dim is None else x.squeeze(self.dim)


class Unsqueeze(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return x.unsqueeze(self.dim)


def pad_to(x, size, value=0.0):
    """F.pad to `size` (the last len(size) dims; an int: every dim after N, C), the difference
    split as U-Net code splits it: d // 2 before, d - d // 2 after (milesial/Pytorch-UNet's Up)."""
    if isinstance(size, int):
        if x.dim() < 3:
            raise ValueError("PadTo with one size needs an input [N, C, ...]")
        size = (size,) * (x.dim() - 2)
    if not 1 <= len(size) <= x.dim():
        raise ValueError("PadTo needs 1 to x.dim() sizes")
    pads = []
    for i in range(1, len(size) + 1):
        d = size[-i] - x.shape[-i]
        pads += [d // 2, d - d // 2]
    return F.pad(x, pads, value=value)


class PadTo(nn.Module):
    def __init__(self, size, value=0.0):
        super().__init__()
        self.size, self.value = size, value

    def forward(self, x):
        return pad_to(x, self.size, self.value)


class Interpolate(nn.Module):
    def __init__(self, **kwargs):
        super().__init__()
        self.kwargs = kwargs

    def forward(self, x):
        return F.interpolate(x, **self.kwargs)


def _center_crop_class():
    import torchvision.transforms as T
    return T.CenterCrop


class _Lazy(dict):
    def __missing__(self, key):
        if key == "CenterCrop":
            return _center_crop_class()
        raise KeyError(key)

    def __contains__(self, key):
        return key == "CenterCrop" or dict.__contains__(self, key)


SIZE_LAYERS = _Lazy(Mean=Mean, ReduceSum=ReduceSum, Amax=Amax, Amin=Amin, Transpose=Transpose, Reshape=Reshape,
                    Squeeze=Squeeze, Unsqueeze=Unsqueeze, PadTo=PadTo, Interpolate=Interpolate)


def _dims(c: Cases, rank: int):
    r = c.r
    u = r.random()
    if u < 0.1:
        return None
    if u < 0.15:
        return ()
    k = r.randint(1, rank)
    dims = r.sample(range(rank), k)
    dims = [d - rank if r.random() < 0.3 else d for d in dims]
    return dims[0] if k == 1 and r.random() < 0.5 else tuple(dims)


def gen_sizes_random(c: Cases):
    r = c.r
    for layer in ("Mean", "ReduceSum", "Amax", "Amin"):
        for _ in range(25):
            shape = rand_shape(c, 1, 5)
            kw = {}
            dims = _dims(c, len(shape))
            if dims is not None or r.random() < 0.5:
                kw["dim"] = dims
            if r.random() < 0.6:
                kw["keepdim"] = r.random() < 0.5
            c.add("random", layer, kw, shape)
    for _ in range(25):
        shape = rand_shape(c, 1, 5)
        rank = len(shape)
        c.add("random", "Transpose", {"dim0": r.randint(-rank, rank - 1), "dim1": r.randint(-rank, rank - 1)}, shape)
    for _ in range(30):
        shape = rand_shape(c, 2, 5)
        total = math.prod(shape)
        divisors = [d for d in range(1, total + 1) if total % d == 0]
        first = r.choice(divisors)
        new = [first, total // first]
        if r.random() < 0.5:
            new[r.randint(0, 1)] = -1
        if r.random() < 0.3:
            new.insert(0, 1)
        c.add("random", "Reshape", {"shape": tuple(new)}, shape)
    for _ in range(20):
        shape = (1,) + tuple(r.choice([1, 1, 2, 3]) for _ in range(r.randint(1, 4)))
        rank = len(shape)
        kw = {} if r.random() < 0.3 else {"dim": r.randint(-rank, rank - 1)}
        c.add("random", "Squeeze", kw, shape)
    for _ in range(15):
        shape = rand_shape(c, 1, 4)
        rank = len(shape)
        c.add("random", "Unsqueeze", {"dim": r.randint(-rank - 1, rank)}, shape)
    for _ in range(50):
        lead = r.choice([(1, 2), (1, 3), (3,), (2, 1, 2)])
        h, w = r.randint(1, 40), r.randint(1, 40)
        u = r.random()
        ch, cw = (max(1, h + r.randint(-12, 6)), max(1, w + r.randint(-12, 6)))
        size = ch if u < 0.3 else (ch,) if u < 0.4 else (ch, cw)
        c.add("random", "CenterCrop", {"size": size}, lead + (h, w))
    for _ in range(50):
        d = r.choice([1, 2, 2, 3])
        sp = tuple(r.randint(1, 30) for _ in range(d))
        targets = tuple(max(1, s + r.randint(-5, 9)) for s in sp)
        kw = {"size": targets if (r.random() < 0.75 or d == 0) else targets[0]}
        if isinstance(kw["size"], int):
            sp = (sp[0],) * d
        elif r.random() < 0.2:
            kw["size"] = targets[1:] or targets
        if r.random() < 0.2:
            kw["value"] = r.choice([0.0, 1.5, -1])
        c.add("random", "PadTo", kw, (1, r.randint(1, 3)) + sp)
    for _ in range(50):
        d = r.choice([1, 2, 2, 3])
        hi = {1: 64, 2: 32, 3: 10}[d]
        sp = tuple(r.randint(1, hi) for _ in range(d))
        mode = r.choice(MODES_BY_DIM[d])
        kw = {}
        if r.random() < 0.5:
            kw["size"] = r.randint(1, 2 * hi) if r.random() < 0.3 else tuple(r.randint(1, 2 * hi) for _ in range(d))
        else:
            kw["scale_factor"] = r.choice(SCALES)
        if mode != "nearest" or r.random() < 0.5:
            kw["mode"] = mode
        if mode in LINEAR_MODES and r.random() < 0.4:
            kw["align_corners"] = r.random() < 0.5
        if mode in ("bilinear", "bicubic") and r.random() < 0.5:
            kw["antialias"] = True
        c.add("random", "Interpolate", kw, (1, r.randint(1, 3)) + sp)


def gen_sizes_edges(c: Cases):
    A = c.add
    E = "edge_sizes"
    x4 = (1, 3, 4, 5)
    for layer in ("Mean", "ReduceSum", "Amax", "Amin"):
        A(E, layer, {"dim": (2, 2)}, x4, note="a dim twice")
        A(E, layer, {"dim": 4}, x4, note="dim out of range")
        A(E, layer, {"dim": -5}, x4, note="dim out of range")
        A(E, layer, {"dim": ()}, x4, note="an empty list reduces every dim")
        A(E, layer, {"dim": None, "keepdim": True}, x4)
        A(E, layer, {"dim": (2, 3), "keepdim": True}, (1, 2048, 7, 7), note="x.mean([2, 3], keepdim=True): a global pool")
        A(E, layer, {"dim": (-1, -2)}, (1, 2048, 7, 7))
        A(E, layer, {"dim": 0}, (5,))
    A(E, "Mean", {"dim": 1}, (1,), note="every dim reduced: a 0-dim result")
    A(E, "Transpose", {"dim0": 1, "dim1": 4}, x4, note="dim out of range")
    A(E, "Transpose", {"dim0": 2, "dim1": 2}, x4)
    A(E, "Transpose", {"dim0": -1, "dim1": 0}, x4)
    A(E, "Reshape", {"shape": (-1, -1)}, x4, note="two inferred sizes")
    A(E, "Reshape", {"shape": (7, -1)}, x4, note="does not divide")
    A(E, "Reshape", {"shape": (0, -1)}, x4)
    A(E, "Reshape", {"shape": (3, 21)}, x4, note="wrong number of elements")
    A(E, "Reshape", {"shape": (1, -1)}, (1, 512, 7, 7), note="x.view(x.size(0), -1)")
    A(E, "Reshape", {"shape": -1}, x4, note="a single int")
    A(E, "Reshape", {"shape": (-2, 30)}, x4)
    A(E, "Squeeze", {"dim": 4}, x4, note="dim out of range")
    A(E, "Squeeze", {}, (1, 1, 1))
    A(E, "Squeeze", {"dim": (0, 1)}, (1, 1, 3))
    A(E, "Unsqueeze", {"dim": 5}, x4, note="dim out of range")
    A(E, "Unsqueeze", {"dim": -6}, x4, note="dim out of range")
    for size in (0, -1, (0, 3), (1, 2, 3), (4, 5), (5, 7), (9, 4), (3,)):
        A(E, "CenterCrop", {"size": size}, x4)
    A(E, "CenterCrop", {"size": 3}, (6,), note="not an image")
    A(E, "CenterCrop", {"size": 3}, (5, 6), note="a 2-D image")
    A(E, "CenterCrop", {"size": (388, 388)}, (1, 512, 392, 392), note="classic U-Net: the skip of 64x64 cropped to 56x56, scaled")
    A(E, "CenterCrop", {"size": (3, 3)}, (2, 3, 4, 5, 6), note="5-D: the last two dims")
    for kw, shape in (({"size": (8, 8)}, x4), ({"size": (2, 2)}, x4), ({"size": 6}, x4), ({"size": (5,)}, (1, 3, 9)),
                      ({"size": (6, 7, 8)}, x4), ({"size": (1, 1, 6, 7, 8)}, x4), ({"size": 6}, (3, 4)),
                      ({"size": (31, 31)}, (1, 64, 30, 30)), ({"size": (0, 5)}, x4), ({"size": (1, 1)}, x4)):
        A(E, "PadTo", kw, shape)
    for kw, shape in (({"scale_factor": 0}, x4), ({"size": (3, 4), "mode": "nearest", "antialias": True}, x4),
                      ({"size": (2, 3), "mode": "bilinear", "antialias": True}, x4), ({"size": (3,)}, x4),
                      ({"size": 3, "scale_factor": 2}, x4), ({"size": (65, 65), "mode": "bilinear", "align_corners": False}, (1, 21, 65, 65)),
                      ({"scale_factor": 1.15}, (1, 1, 100)), ({"size": (520, 520), "mode": "bilinear", "align_corners": False}, (1, 21, 65, 65))):
        A(E, "Interpolate", kw, shape)


def build_sizes_cases(seed: int) -> list[dict]:
    c = Cases(seed)
    gen_sizes_random(c)
    gen_sizes_edges(c)
    return c.items


def build_cases(seed: int) -> list[dict]:
    c = Cases(seed)
    for d, n in ((1, 110), (2, 160), (3, 70)):
        gen_conv_random(c, d, False, n)
    for d, n in ((1, 70), (2, 100), (3, 50)):
        gen_conv_random(c, d, True, n)
    for d, n in ((1, 60), (2, 100), (3, 50)):
        gen_maxpool_random(c, d, n)
    for d, n in ((1, 50), (2, 80), (3, 40)):
        gen_avgpool_random(c, d, n)
    for kind in ("Avg", "Max"):
        for d, n in ((1, 20), (2, 30), (3, 20)):
            gen_adaptive_random(c, kind, d, n)
    for d, n in ((1, 30), (2, 30), (3, 20)):
        gen_batchnorm_random(c, d, n)
    gen_groupnorm_random(c, 40)
    gen_layernorm_random(c, 50)
    for d, n in ((1, 25), (2, 30), (3, 20)):
        gen_instancenorm_random(c, d, n)
    gen_linear_random(c, 60)
    gen_flatten_random(c, 50)
    gen_unflatten_random(c, 30)
    gen_dropout_random(c, 10)
    gen_activation_random(c, 10)
    gen_upsample_random(c, 150)
    gen_pad_random(c, 20)
    gen_shuffle_random(c, 25)
    gen_edges(c)
    return c.items


def make_shapes(path: str, seed: int, build=build_cases) -> list[dict]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    specs = build(seed)
    t0 = time.time()
    recs = []
    for i, spec in enumerate(specs):
        recs.append(run_case(i, spec, gen))
    with open(path, "w") as f:
        for rec in recs:
            f.write(json.dumps(rec) + "\n")
    print("wrote %s: %d cases in %.1fs" % (path, len(recs), time.time() - t0), file=sys.stderr)
    return recs


# --------------------------------------------------------------------------------------------
# torchvision zoo
# --------------------------------------------------------------------------------------------

ZOO = [
    ("alexnet", "torchvision.models.alexnet(weights=None)", 224, {}),
    ("vgg11", "torchvision.models.vgg11(weights=None)", 224, {}),
    ("vgg16", "torchvision.models.vgg16(weights=None)", 224, {}),
    ("vgg16_bn", "torchvision.models.vgg16_bn(weights=None)", 224, {}),
    ("resnet18", "torchvision.models.resnet18(weights=None)", 224, {}),
    ("resnet34", "torchvision.models.resnet34(weights=None)", 224, {}),
    ("resnet50", "torchvision.models.resnet50(weights=None)", 224, {}),
    ("resnet101", "torchvision.models.resnet101(weights=None)", 224, {}),
    ("resnet152", "torchvision.models.resnet152(weights=None)", 224, {}),
    ("resnext50_32x4d", "torchvision.models.resnext50_32x4d(weights=None)", 224, {}),
    ("wide_resnet50_2", "torchvision.models.wide_resnet50_2(weights=None)", 224, {}),
    ("mobilenet_v2", "torchvision.models.mobilenet_v2(weights=None)", 224, {}),
    ("mobilenet_v3_small", "torchvision.models.mobilenet_v3_small(weights=None)", 224, {}),
    ("mobilenet_v3_large", "torchvision.models.mobilenet_v3_large(weights=None)", 224, {}),
    ("densenet121", "torchvision.models.densenet121(weights=None)", 224, {}),
    ("squeezenet1_0", "torchvision.models.squeezenet1_0(weights=None)", 224, {}),
    ("squeezenet1_1", "torchvision.models.squeezenet1_1(weights=None)", 224, {}),
    ("shufflenet_v2_x1_0", "torchvision.models.shufflenet_v2_x1_0(weights=None)", 224, {}),
    ("googlenet", "torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=False)", 224,
     {"aux_logits": False, "init_weights": False}),
    ("inception_v3", "torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)", 299,
     {"aux_logits": False, "init_weights": False}),
    ("efficientnet_b0", "torchvision.models.efficientnet_b0(weights=None)", 224, {}),
    ("mnasnet1_0", "torchvision.models.mnasnet1_0(weights=None)", 224, {}),
    ("regnet_y_400mf", "torchvision.models.regnet_y_400mf(weights=None)", 224, {}),
    ("convnext_tiny", "torchvision.models.convnext_tiny(weights=None)", 224, {}),
]


def _shape_of(v):
    if isinstance(v, torch.Tensor):
        return list(v.shape)
    if isinstance(v, (tuple, list)):
        return [_shape_of(x) for x in v]
    return None


def leaf_hparams(m: nn.Module) -> dict:
    h = module_attrs(m)
    if hasattr(m, "bias"):
        b = m.bias
        if b is None or isinstance(b, torch.Tensor):
            h["bias"] = isinstance(b, torch.Tensor)
    return h


def analyse_model(name: str, ctor: str, res: int | tuple[int, int], extra: dict) -> dict:
    import torchvision
    from fvcore.nn import FlopCountAnalysis
    from torch.nn.modules.batchnorm import _BatchNorm
    from torch.nn.modules.conv import _ConvNd

    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None, **extra).eval()
    height, width = (res, res) if isinstance(res, int) else res
    x = torch.randn(1, 3, height, width, generator=torch.Generator().manual_seed(0))

    params = dict(model.named_parameters())
    owner_class = {}
    for mname, mod in model.named_modules():
        for pname, _ in mod.named_parameters(recurse=False):
            owner_class[(mname + "." if mname else "") + pname] = type(mod).__name__
    by_owner = Counter()
    for pn, p in params.items():
        by_owner[owner_class[pn]] += p.numel()

    bn = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    convs = [m for m in model.modules() if isinstance(m, _ConvNd)]
    lins = [m for m in model.modules() if isinstance(m, nn.Linear)]

    def psum(mods, attr=None):
        tot = 0
        for m in mods:
            for pn, p in m.named_parameters(recurse=False):
                if attr is None or pn == attr:
                    tot += p.numel()
        return tot

    bufs = dict(model.named_buffers())
    rec = {
        "constructor": ctor,
        "input_shape": [1, 3, height, width],
        "output_shape": None,
        "total_params": sum(p.numel() for p in params.values()),
        "trainable_params": sum(p.numel() for p in params.values() if p.requires_grad),
        "bias_params": sum(p.numel() for n, p in params.items() if n.endswith("bias")),
        "bn_params": psum(bn),
        "bn_buffer_elements": sum(m.running_mean.numel() + m.running_var.numel() for m in bn
                                  if m.running_mean is not None),
        "bn_layers": len(bn),
        "conv_params": psum(convs),
        "conv_bias_params": psum(convs, "bias"),
        "conv_layers": len(convs),
        "linear_params": psum(lins),
        "linear_bias_params": psum(lins, "bias"),
        "linear_layers": len(lins),
        "params_by_owner_class": dict(sorted(by_owner.items())),
        "buffers": sum(b.numel() for n, b in bufs.items() if not n.endswith("num_batches_tracked")),
        "num_batches_tracked": sum(1 for n in bufs if n.endswith("num_batches_tracked")),
    }

    # leaves in forward call order -------------------------------------------------------------
    names = {m: n for n, m in model.named_modules()}
    leaves = []
    calls = Counter()

    def hook(mod, inp, out):
        n = names[mod]
        entry = {"name": n, "class": type(mod).__name__, "call": calls[n],
                 "input_shapes": [_shape_of(a) for a in inp if isinstance(a, torch.Tensor)],
                 "output_shape": _shape_of(out),
                 "params": sum(p.numel() for p in mod.parameters(recurse=False)),
                 "hparams": leaf_hparams(mod)}
        calls[n] += 1
        leaves.append(entry)

    handles = [m.register_forward_hook(hook) for m in model.modules() if len(list(m.children())) == 0]
    with torch.no_grad():
        y = model(x)
    for h in handles:
        h.remove()
    rec["output_shape"] = _shape_of(y)

    # fvcore ---------------------------------------------------------------------------------
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fca = FlopCountAnalysis(model, x)
        fca.unsupported_ops_warnings(False)
        fca.uncalled_modules_warnings(False)
        fca.tracer_warnings("none")
        by_op = dict(sorted(fca.by_operator().items()))
        by_mod = fca.by_module()
        total = fca.total()
        unsupported = dict(sorted(fca.unsupported_ops().items()))
    rec["fvcore_by_operator"] = {k: int(v) for k, v in by_op.items()}
    rec["fvcore_total"] = int(total)
    rec["fvcore_unsupported_ops"] = {k: int(v) for k, v in unsupported.items()}
    leaf_names = {e["name"] for e in leaves}
    rec["fvcore_by_leaf_module"] = {n: int(by_mod[n]) for n in sorted(leaf_names, key=lambda s: s)
                                    if by_mod.get(n, 0)}

    # conv2d list in the same shape as torchvision_public.json ---------------------------------
    conv2d = []
    for e in leaves:
        if e["class"] != "Conv2d":
            continue
        h = e["hparams"]
        conv2d.append({"name": e["name"], "in_channels": h["in_channels"], "out_channels": h["out_channels"],
                       "kernel_size": h["kernel_size"], "stride": h["stride"], "padding": h["padding"],
                       "dilation": h["dilation"], "groups": h["groups"], "bias": h["bias"],
                       "input_hw": e["input_shapes"][0][2:], "output_hw": e["output_shape"][2:],
                       "params": e["params"], "fvcore_flops": int(by_mod.get(e["name"], 0))})
    rec["conv2d"] = conv2d
    rec["leaves"] = leaves
    return rec


def make_zoo(path: str, only: list[str] | None = None) -> dict:
    from importlib.metadata import version

    import torchvision
    out = {"_about": {
        "source": "torchvision %s with torch %s (weights=None, eval mode, torch.manual_seed(0)), fvcore %s; "
                  "input 1x3x224x224 (inception_v3: 1x3x299x299)"
                  % (torchvision.__version__, torch.__version__, version("fvcore")),
        "shapes": "all shapes include the batch dimension (batch 1)",
        "bias_params": "parameters whose name ends in 'bias' (BatchNorm/LayerNorm biases included)",
        "buffers": "sum of numel over named_buffers() excluding num_batches_tracked; num_batches_tracked "
                   "is the number of those (one-element) buffers",
        "fvcore_by_operator": "fvcore FlopCountAnalysis per operator (unsupported-op warnings silenced); fvcore "
                              "counts one multiply-accumulate as one 'flop', so 'conv', 'linear', 'matmul', "
                              "'einsum' entries are MAC counts",
        "fvcore_unsupported_ops": "ops fvcore saw in the trace but does not count (op name -> number of "
                                  "occurrences); they contribute 0 to fvcore_total",
        "fvcore_by_leaf_module": "fvcore count per leaf module (summed over all its calls), non-zero only",
        "leaves": "every leaf module (no children) in forward call order via forward hooks; a module called "
                  "twice appears twice (call = 0,1,...). input_shapes lists the tensor positional inputs; "
                  "params is the module's own parameter count; hparams are the module's public plain-valued "
                  "attributes plus bias=True/False where the module has a bias slot. Functional ops "
                  "(torch.flatten, F.relu, F.adaptive_avg_pool2d, +, cat, channel_shuffle, ...) are not "
                  "modules and so do not appear",
        "conv2d": "every Conv2d call in forward order: hyper-parameters, input/output spatial size, params, "
                  "and fvcore's MACs for it (same layout as torchvision_public.json)",
    }}
    for name, ctor, res, extra in ZOO:
        if only and name not in only:
            continue
        t0 = time.time()
        out[name] = analyse_model(name, ctor, res, extra)
        print("%-20s %12d params  %.1fs" % (name, out[name]["total_params"], time.time() - t0), file=sys.stderr)
    with open(path, "w") as f:
        json.dump(out, f, indent=None, separators=(",", ":"))
        f.write("\n")
    return out


# --------------------------------------------------------------------------------------------
# Segmentation models at several input sizes (configs/unet.yaml, unet_padded.yaml,
# deeplabv3_resnet50.yaml): tests/data/segmentation_torch.json
# --------------------------------------------------------------------------------------------

def center_crop(x, size):
    """torchvision's center_crop (a crop no larger than the image): TF.center_crop itself when run
    eagerly; under fvcore's jit trace (where it cannot run: round() of a traced size) the same
    slice, its offsets int(round((size - crop) / 2.0)) as torchvision computes them."""
    h, w = int(size[0]), int(size[1])
    if not torch.jit.is_tracing():
        import torchvision.transforms.functional as TF
        return TF.center_crop(x, [h, w])
    top = round((int(x.shape[-2]) - h) / 2.0)
    left = round((int(x.shape[-1]) - w) / 2.0)
    return x[..., top:top + h, left:left + w]


class UNetClassic(nn.Module):
    """Ronneberger, Fischer & Brox, "U-Net" (MICCAI 2015), as in the paper's figure 1: unpadded
    3x3 convs (bias, ReLU), 2x2 max pools, 2x2 transposed convs halving the channels, each skip
    center-cropped to the upsampled size and concatenated before it ([skip, up]), a 1x1 conv to
    the classes. 1 input channel, 2 classes, 572x572 -> 388x388."""

    def __init__(self, in_channels=1, classes=2, widths=(64, 128, 256, 512, 1024)):
        super().__init__()

        def double(i, o):
            return nn.Sequential(nn.Conv2d(i, o, 3), nn.ReLU(inplace=True), nn.Conv2d(o, o, 3), nn.ReLU(inplace=True))

        chans = [in_channels, *widths]
        self.down = nn.ModuleList(double(chans[i], chans[i + 1]) for i in range(len(widths)))
        self.pool = nn.MaxPool2d(2)
        rev = widths[::-1]
        self.up = nn.ModuleList(nn.ConvTranspose2d(rev[i], rev[i + 1], 2, stride=2) for i in range(len(widths) - 1))
        self.dec = nn.ModuleList(double(rev[i], rev[i + 1]) for i in range(len(widths) - 1))
        self.out = nn.Conv2d(widths[0], classes, 1)

    def forward(self, x):
        skips = []
        for i, block in enumerate(self.down):
            x = block(x)
            if i < len(self.down) - 1:
                skips.append(x)
                x = self.pool(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips)):
            x = up(x)
            x = torch.cat([center_crop(skip, x.shape[-2:]), x], dim=1)
            x = dec(x)
        return self.out(x)


class UNetPadded(nn.Module):
    """milesial/Pytorch-UNet's UNet(n_channels=3, n_classes=2, bilinear=False): DoubleConv = (3x3
    conv padding 1 without bias, BatchNorm, ReLU) x 2; Down = MaxPool2d(2) + DoubleConv; Up =
    ConvTranspose2d(c, c // 2, 2, stride 2), the upsampled tensor F.pad-ded to the skip's size
    ([dX // 2, dX - dX // 2, dY // 2, dY - dY // 2]), torch.cat([skip, up]), DoubleConv; OutConv
    a 1x1 conv. Written out here as that repository's unet_parts.py has it."""

    def __init__(self, in_channels=3, classes=2, widths=(64, 128, 256, 512, 1024)):
        super().__init__()

        def double(i, o):
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True),
                                 nn.Conv2d(o, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))

        chans = [in_channels, *widths]
        self.inc = double(in_channels, widths[0])
        self.downs = nn.ModuleList(nn.Sequential(nn.MaxPool2d(2), double(chans[i], chans[i + 1])) for i in range(1, len(widths)))
        rev = widths[::-1]
        self.ups = nn.ModuleList(nn.ConvTranspose2d(rev[i], rev[i] // 2, 2, stride=2) for i in range(len(widths) - 1))
        self.convs = nn.ModuleList(double(rev[i], rev[i + 1]) for i in range(len(widths) - 1))
        self.outc = nn.Conv2d(widths[0], classes, 1)

    def forward(self, x):
        x = self.inc(x)
        skips = [x]
        for down in self.downs:
            x = down(x)
            skips.append(x)
        skips.pop()
        for up, conv, x2 in zip(self.ups, self.convs, reversed(skips)):
            x1 = up(x)
            diff_y = x2.size()[2] - x1.size()[2]
            diff_x = x2.size()[3] - x1.size()[3]
            x1 = F.pad(x1, [diff_x // 2, diff_x - diff_x // 2, diff_y // 2, diff_y - diff_y // 2])
            x = conv(torch.cat([x2, x1], dim=1))
        return self.outc(x)


def _deeplab():
    import torchvision
    return torchvision.models.segmentation.deeplabv3_resnet50(weights=None, weights_backbone=None, aux_loss=False)


SEGMENTATION = [
    ("unet", "UNetClassic(in_channels=1, classes=2) (tools/torch_reference.py)", lambda: UNetClassic(), 1,
     [(572, 572), (508, 380)]),
    ("unet_padded", "UNetPadded(in_channels=3, classes=2) (tools/torch_reference.py, after milesial/Pytorch-UNet)",
     lambda: UNetPadded(), 3, [(250, 250), (300, 217)]),
    ("deeplabv3_resnet50", "torchvision.models.segmentation.deeplabv3_resnet50(weights=None, weights_backbone=None, "
     "aux_loss=False)", _deeplab, 3, [(520, 520), (513, 513)]),
]


def analyse_segmentation(ctor: str, factory, channels: int, size: tuple) -> dict:
    from fvcore.nn import FlopCountAnalysis
    from torch.nn.modules.batchnorm import _BatchNorm
    from torch.nn.modules.conv import _ConvNd

    torch.manual_seed(0)
    model = factory().eval()
    x = torch.randn(1, channels, *size, generator=torch.Generator().manual_seed(0))
    params = dict(model.named_parameters())
    bufs = dict(model.named_buffers())
    names = {m: n for n, m in model.named_modules()}
    convs = []

    def hook(mod, inp, out):
        convs.append({"name": names[mod], "class": type(mod).__name__, "in_channels": mod.in_channels,
                      "out_channels": mod.out_channels, "kernel_size": list(mod.kernel_size),
                      "stride": list(mod.stride), "padding": list(mod.padding), "dilation": list(mod.dilation),
                      "groups": mod.groups, "bias": mod.bias is not None,
                      "input_shape": list(inp[0].shape), "output_shape": list(out.shape)})

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, _ConvNd)]
    with torch.no_grad():
        y = model(x)
    for h in handles:
        h.remove()
    if isinstance(y, dict):  # torchvision's segmentation models return {"out": ...}
        y = y["out"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fca = FlopCountAnalysis(model, x)
        fca.unsupported_ops_warnings(False)
        fca.uncalled_modules_warnings(False)
        fca.tracer_warnings("none")
        by_op = {k: int(v) for k, v in sorted(fca.by_operator().items())}
        unsupported = {k: int(v) for k, v in sorted(fca.unsupported_ops().items())}
    bn = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    return {
        "constructor": ctor,
        "input_shape": list(x.shape),
        "output_shape": list(y.shape),
        "total_params": sum(p.numel() for p in params.values()),
        "trainable_params": sum(p.numel() for p in params.values() if p.requires_grad),
        "bias_params": sum(p.numel() for n, p in params.items() if n.endswith("bias")),
        "buffers": sum(b.numel() for n, b in bufs.items() if not n.endswith("num_batches_tracked")),
        "bn_layers": len(bn),
        "conv_layers": len(convs),
        "fvcore_by_operator": by_op,
        "fvcore_unsupported_ops": unsupported,
        "convs": convs,
    }


def make_segmentation(path: str) -> dict:
    from importlib.metadata import version

    import torchvision
    out = {"_about": {
        "source": "torch %s, torchvision %s, fvcore %s; eval mode, torch.manual_seed(0), batch 1, weights=None"
                  % (torch.__version__, torchvision.__version__, version("fvcore")),
        "models": "per model: the constructor, and one record per input size HxW; unet and unet_padded are "
                  "the nn.Module classes written in tools/torch_reference.py (UNetClassic, UNetPadded)",
        "shapes": "input_shape, output_shape and the convs' shapes include the batch dimension (batch 1); "
                  "deeplabv3's output is out['out']",
        "bias_params": "parameters whose name ends in 'bias' (BatchNorm biases included)",
        "buffers": "sum of numel over named_buffers() excluding num_batches_tracked",
        "fvcore_by_operator": "fvcore FlopCountAnalysis per operator; 'conv' is a MAC count (transposed convs "
                              "included, counted on the input positions), bias not included",
        "convs": "every Conv2d / ConvTranspose2d call in forward order (forward hooks), its hyper-parameters "
                 "and input/output shapes",
    }}
    for name, ctor, factory, channels, sizes in SEGMENTATION:
        out[name] = {"constructor": ctor, "sizes": {}}
        for size in sizes:
            t0 = time.time()
            out[name]["sizes"]["%dx%d" % size] = rec = analyse_segmentation(ctor, factory, channels, size)
            print("%-20s %-9s %12d params %16d conv MACs  %.1fs" % (name, "%dx%d" % size, rec["total_params"],
                  rec["fvcore_by_operator"].get("conv", 0), time.time() - t0), file=sys.stderr)
    with open(path, "w") as f:
        json.dump(out, f, indent=None, separators=(",", ":"))
        f.write("\n")
    return out


# Models at input sizes other than the one their spec gives (`cnncalc ... --input 3,320,240`):
# (name, constructor text, (height, width)).
RESOLUTIONS = [
    ("resnet50", "torchvision.models.resnet50(weights=None)", (320, 240)),
    ("resnet50", "torchvision.models.resnet50(weights=None)", (224, 224)),
    ("resnet18", "torchvision.models.resnet18(weights=None)", (320, 240)),
]
RESOLUTION_KEYS = ("constructor", "input_shape", "output_shape", "total_params", "trainable_params", "bias_params",
                   "buffers", "fvcore_by_operator", "fvcore_total", "fvcore_unsupported_ops")


def make_resolutions(path: str) -> dict:
    """Totals, output shape and fvcore's counts of a few models at several input sizes."""
    from importlib.metadata import version

    import torchvision
    out = {"_about": {
        "source": "torchvision %s with torch %s (weights=None, eval mode, torch.manual_seed(0)), fvcore %s"
                  % (torchvision.__version__, torch.__version__, version("fvcore")),
        "keys": "as in torchvision_zoo.json (input_shape and output_shape include the batch dimension, batch 1; "
                "fvcore_by_operator's 'conv' and 'linear' are MAC counts); one entry per model and input size, "
                "keyed '<model>@<C>x<H>x<W>'",
    }}
    for name, ctor, (height, width) in RESOLUTIONS:
        t0 = time.time()
        rec = analyse_model(name, ctor, (height, width), {})
        key = "%s@3x%dx%d" % (name, height, width)
        out[key] = {k: rec[k] for k in RESOLUTION_KEYS}
        print("%-24s %12d params  %.1fs" % (key, rec["total_params"], time.time() - t0), file=sys.stderr)
    with open(path, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    return out


# --------------------------------------------------------------------------------------------
# cnncalc export: every shipped config (and the docs' example specs) written as PyTorch code by
# `cnncalc export`, built and run here: tests/data/export_torch.json
# --------------------------------------------------------------------------------------------

# (key, spec file relative to the repo, --set bindings, a second per-sample input or None)
EXPORT_SETS = {
    "resnet_block_bottleneck": ["k=54"],
    "bottleneck_two_widths": ["k1=32", "k2=48"],
    "docs/grammar.md#2": ["k=8"],  # the free-symbols example
}
EXPORT_SECOND = {
    "unet": [1, 508, 380],
    "unet_padded": [3, 300, 200],
    "deeplabv3_resnet50": [3, 480, 400],
}


def export_targets() -> list[tuple[str, str, list[str], list[str]]]:
    """Every config, and each whole example spec (a ```yaml block with `input:`) of the docs."""
    import glob
    import re
    import tempfile

    targets = []
    for path in sorted(glob.glob(os.path.join(REPO, "configs", "*.yaml"))):
        key = os.path.splitext(os.path.basename(path))[0]
        targets.append((key, os.path.relpath(path, REPO), [], []))
        if key in EXPORT_SETS:
            targets.append((key + " " + " ".join("--set " + s for s in EXPORT_SETS[key]), os.path.relpath(path, REPO), EXPORT_SETS[key], []))
    # the layer kinds the configs do not use
    targets.append(("tests/data/export_kinds", "tests/data/export_kinds.yaml", [], []))
    # the Ultralytics model files of the tests, at each scale the yolo reference recorded
    with open(os.path.join(REPO, "tests", "data", "yolo", "ultralytics_reference.json")) as f:
        recorded = json.load(f)["models"]
    for model in recorded:
        stem = "tests/data/yolo/" + os.path.splitext(model["file"])[0]
        options = ["--scale", model["scale"]] if model["scale"] else []
        targets.append(((stem + " " + " ".join(options)).strip(), stem + ".yaml", [], options))
    folder = tempfile.mkdtemp(prefix="cnncalc-export-")
    for doc in ("README.md", "docs/spec.md", "docs/grammar.md", "docs/commands.md"):
        with open(os.path.join(REPO, doc)) as f:
            blocks = [b for b in re.findall(r"```yaml\n(.*?)```", f.read(), re.DOTALL) if re.search(r"^input:", b, re.MULTILINE)]
        for i, block in enumerate(blocks):
            path = os.path.join(folder, "%s-%d.yaml" % (doc.replace("/", "-"), i))
            with open(path, "w") as f:
                f.write(block)
            key = "%s#%d" % (doc, i)
            targets.append((key, path, EXPORT_SETS.get(key, []), []))
    return targets


def export_code(python: str, spec: str, sets: list[str], options: list[str] = ()) -> tuple[int, str, str]:
    import subprocess

    args = [python, "-m", "cnncalc", "export", spec] + [a for s in sets for a in ("--set", s)] + list(options)
    done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    return done.returncode, done.stdout, done.stderr.strip()


def _stub_models(code: str) -> list[tuple[str, str, list[int] | None]]:
    """The models the __main__ stub builds: (variable, constructor call text, input shape)."""
    import ast

    tree = ast.parse(code)
    stub = next(n for n in tree.body if isinstance(n, ast.If))
    found, inputs = [], {}
    for node in stub.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and isinstance(node.targets[0], ast.Name) and node.targets[0].id != "count":
            found.append((node.targets[0].id, ast.get_source_segment(code, node.value)))
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call) and ast.unparse(sub.func) == "torch.randn":
                variable = next(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id not in ("print", "torch"))
                inputs[variable] = [ast.literal_eval(a) for a in sub.args]
    return [(v, c, inputs.get(v)) for v, c in found]


FX_FUNCTIONS = {"add": "Add", "mul": "Mul", "cat": "Concat", "iadd": "Add"}
# helper classes of the exported file that hold a module of their own and are one layer kind of
# cnncalc's (Ultralytics' DFL: a fixed 1x1 conv inside): leaves, named by their class
FX_LEAF_HELPERS = {"DFL"}


def _fx_size(arg) -> bool:
    """Whether a traced value is a size, not a tensor (`x.shape[-2] * x.shape[-1]` given to a
    Reshape): arithmetic on sizes is not a layer."""
    import torch.fx

    if isinstance(arg, (int, float)):
        return True
    if not isinstance(arg, torch.fx.Node):
        return False
    name = getattr(arg.target, "__name__", str(arg.target))
    if arg.op == "call_function" and name == "getattr" and arg.args[1:] == ("shape",):
        return True
    if arg.op == "call_method" and name == "size":
        return True
    if arg.op == "call_function" and name in ("getitem", "mul", "add", "floordiv", "sub"):
        return any(_fx_size(a) for a in arg.args)
    return False


def fx_sequence(model: nn.Module) -> str | None:
    """The layer sequence torch.fx traces: modules by class, functional adds and multiplies."""
    import torch.fx

    class LeafTracer(torch.fx.Tracer):
        """Modules without children are leaves (torch.nn's and the helper classes of the file);
        containers never are (an empty nn.Sequential, a `repeat` of 0, is the identity)."""

        def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
            if type(m).__name__ in FX_LEAF_HELPERS:
                return True
            return not isinstance(m, (nn.Sequential, nn.ModuleList)) and not any(True for _ in m.children())

    try:
        graph = LeafTracer().trace(model)
    except Exception as e:  # control flow on shapes (`residual: auto` that differs between calls)
        return "untraceable: %s" % type(e).__name__
    modules = dict(model.named_modules())
    names = []
    for node in graph.nodes:
        if node.op == "call_module":
            names.append(type(modules[node.target]).__name__)
        elif node.op == "call_function" and getattr(node.target, "__name__", "") in FX_FUNCTIONS and not any(_fx_size(a) for a in node.args):
            names.append(FX_FUNCTIONS[node.target.__name__])
    return " ".join(names)


def model_figures(model: nn.Module) -> dict:
    params = dict(model.named_parameters())
    buffers = dict(model.named_buffers())
    return {
        "params": sum(p.numel() for p in params.values()),
        "bias_params": sum(p.numel() for n, p in params.items() if n.endswith("bias")),
        "buffers": sum(b.numel() for n, b in buffers.items() if not n.endswith("num_batches_tracked")),
        "num_batches_tracked": sum(1 for n in buffers if n.endswith("num_batches_tracked")),
    }


def make_export(path: str, python: str, only: list[str] | None = None) -> dict:
    from importlib.metadata import version

    kept = {}
    if only and os.path.exists(path):  # re-record a subset: keep the other targets' records
        with open(path) as f:
            kept = {k: v for k, v in json.load(f).items() if not k.startswith("_") and not any(k.startswith(o) for o in only)}
    out = {"_about": {
        "source": "torch %s (torchvision %s not imported by the exported code); cnncalc export run with %s; "
                  "eval mode, torch.manual_seed(0), batch 1" % (torch.__version__, version("torchvision"), os.path.basename(python)),
        "keys": "per target (a config, with its --set bindings, a docs example 'docs/grammar.md#3', or a test Ultralytics model file with its 'options' --scale): 'exit' and 'error' "
                "of cnncalc export; per model the __main__ stub builds: params, bias_params (names ending in 'bias'), "
                "buffers (num_batches_tracked left out), num_batches_tracked, 'outputs' [[input shape, output shape or "
                "the error], ...] at the stub's input (batch 1) and at a second size, 'fx': the module classes (and "
                "functional add/mul/cat as Add/Mul/Concat) torch.fx traces (modules without children as leaves, containers "
                "never), in order, or "
                "'untraceable: <error>'",
    }}
    out.update(kept)
    for key, spec, sets, options in export_targets():
        if only and not any(key.startswith(o) for o in only):
            continue
        t0 = time.time()
        code_exit, code, error = export_code(python, spec, sets, options)
        rec = out[key] = {"spec": spec if not os.path.isabs(spec) else None, "set": sets, "exit": code_exit, "error": error or None, "models": {}}
        if options:
            rec["options"] = options
        if code_exit != 0:
            print("%-40s export exit %d: %s" % (key, code_exit, error), file=sys.stderr)
            continue
        namespace = {"__name__": "cnncalc_export"}
        try:
            exec(compile(code, key, "exec"), namespace)  # the generated code (tools only: the data's provenance)
        except Exception as e:
            rec["error"] = "%s: %s" % (type(e).__name__, str(e).splitlines()[0][:200])
            print("%-40s %s" % (key, rec["error"]), file=sys.stderr)
            continue
        for variable, call, shape in _stub_models(code):
            torch.manual_seed(0)
            try:
                model = eval(call, namespace).eval()
            except Exception as e:
                rec["models"][variable] = {"constructor": call, "error": "%s: %s" % (type(e).__name__, str(e).splitlines()[0][:200])}
                continue
            figures = model_figures(model)
            figures["constructor"] = call
            outputs = []
            sizes = [shape] if shape else []
            if shape:
                second = EXPORT_SECOND.get(key.split(" ")[0])
                if second is None and len(shape) == 4:
                    second = [shape[1], shape[2] + 32, shape[3] + 64]
                if second is not None:
                    sizes.append([1, *second])
            for size in sizes:
                try:
                    with torch.no_grad():
                        y = model(torch.randn(*size, generator=torch.Generator().manual_seed(0)))
                    outputs.append([size, list(y.shape)])
                except Exception as e:
                    outputs.append([size, "%s: %s" % (type(e).__name__, str(e).splitlines()[0][:200])])
            figures["outputs"] = outputs
            figures["fx"] = fx_sequence(model)
            rec["models"][variable] = figures
        print("%-40s %s  %.1fs" % (key, ", ".join("%s %s params" % (v, m.get("params", m.get("error"))) for v, m in rec["models"].items()), time.time() - t0), file=sys.stderr)
    with open(path, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    return out


def check_public(path: str) -> int:
    """Replay a shape-case file (e.g. shape_cases_public.jsonl) and count disagreements in
    output_shape / error / error_phase / error_type / param counts with this torch."""
    gen = torch.Generator().manual_seed(0)
    bad = 0
    n = 0
    with open(path) as f:
        for line in f:
            old = json.loads(line)
            spec = dict(old)
            spec["kwargs"] = {k: tuple(v) if isinstance(v, list) else v for k, v in old["kwargs"].items()}
            new = run_case(old["id"], spec, gen)
            n += 1
            keys = ["output_shape", "error", "error_phase", "error_type", "param_count",
                    "param_count_with_bias", "param_count_without_bias"]
            diff = [k for k in keys if old.get(k) != new.get(k)]
            if diff:
                bad += 1
                print("MISMATCH id=%s %s: old=%s new=%s" % (old["id"], diff, [old.get(k) for k in diff],
                                                            [new.get(k) for k in diff]), file=sys.stderr)
    print("replayed %d cases from %s: %d disagree" % (n, path, bad), file=sys.stderr)
    return bad


# ----------------------------------------------------------------------------- train memory

# Small sequences (a conv first, so the later layers' inputs need a gradient, as inside a
# network): [type, kwargs] each, cnncalc's kind names, built by train_layer(); per-sample input
# shape. Each is run at batch 1 and 2, in float32, and the ones in TRAIN_PRECISION_CASES also as
# a model cast to bfloat16/float16 and under CPU autocast (bfloat16/float16, float32 weights).
def _c(i, o, k=3, d=2, **kw):
    return ["Conv%dd" % d, dict({"in_channels": i, "out_channels": o, "kernel_size": k}, **kw)]


C38 = _c(3, 8)
S2, S1, S3 = [3, 10, 10], [3, 10], [3, 6, 6, 6]
TRAIN_CASES = [
    ("conv", [3, 16, 16], [["Conv2d", {"in_channels": 3, "out_channels": 8, "kernel_size": 3}]]),
    ("conv_bias_stride", [3, 17, 17], [["Conv2d", {"in_channels": 3, "out_channels": 8, "kernel_size": 3, "stride": 2, "padding": 1}]]),
    ("conv_bn", [3, 16, 16], [["Conv2d", {"in_channels": 3, "out_channels": 8, "kernel_size": 3}], ["BatchNorm2d", {"num_features": 8}]]),
    ("conv_bn_noaffine", [3, 16, 16], [["Conv2d", {"in_channels": 3, "out_channels": 8, "kernel_size": 3}], ["BatchNorm2d", {"num_features": 8, "affine": False}]]),
    ("conv_relu", [3, 16, 16], [["Conv2d", {"in_channels": 3, "out_channels": 8, "kernel_size": 3}], ["ReLU", {}]]),
    ("conv_relu_inplace", [3, 16, 16], [["Conv2d", {"in_channels": 3, "out_channels": 8, "kernel_size": 3}], ["ReLU", {"inplace": True}]]),
    ("conv_relu6_inplace", [3, 16, 16], [["Conv2d", {"in_channels": 3, "out_channels": 8, "kernel_size": 3}], ["ReLU6", {"inplace": True}]]),
    ("conv_relu_conv", [3, 16, 16], [["Conv2d", {"in_channels": 3, "out_channels": 8, "kernel_size": 3}], ["ReLU", {"inplace": True}],
                                     ["Conv2d", {"in_channels": 8, "out_channels": 4, "kernel_size": 1}]]),
    ("conv_relu6_conv", [3, 16, 16], [["Conv2d", {"in_channels": 3, "out_channels": 8, "kernel_size": 3}], ["ReLU6", {}],
                                      ["Conv2d", {"in_channels": 8, "out_channels": 4, "kernel_size": 1}]]),
    ("conv_relu6_inplace_conv", [3, 16, 16], [["Conv2d", {"in_channels": 3, "out_channels": 8, "kernel_size": 3}], ["ReLU6", {"inplace": True}],
                                              ["Conv2d", {"in_channels": 8, "out_channels": 4, "kernel_size": 1}]]),
    ("conv_maxpool", [3, 16, 16], [["Conv2d", {"in_channels": 3, "out_channels": 8, "kernel_size": 3}], ["MaxPool2d", {"kernel_size": 2}]]),
    ("conv_maxpool_3s2p1", [3, 16, 16], [["Conv2d", {"in_channels": 3, "out_channels": 8, "kernel_size": 3}],
                                         ["MaxPool2d", {"kernel_size": 3, "stride": 2, "padding": 1}]]),
    ("conv_adaptive_avg_1", [3, 16, 16], [["Conv2d", {"in_channels": 3, "out_channels": 8, "kernel_size": 3}], ["AdaptiveAvgPool2d", {"output_size": 1}]]),
    ("conv_adaptive_avg_7", [3, 16, 16], [["Conv2d", {"in_channels": 3, "out_channels": 8, "kernel_size": 3}], ["AdaptiveAvgPool2d", {"output_size": 7}]]),
    ("conv_adaptive_avg_same", [3, 9, 9], [["Conv2d", {"in_channels": 3, "out_channels": 8, "kernel_size": 3}], ["AdaptiveAvgPool2d", {"output_size": 7}]]),
    ("conv_flatten_linear", [3, 8, 8], [["Conv2d", {"in_channels": 3, "out_channels": 4, "kernel_size": 3}], ["Flatten", {}],
                                        ["Linear", {"in_features": 144, "out_features": 10}]]),
    ("linear", [16], [["Linear", {"in_features": 16, "out_features": 5}]]),
    ("linear_dropout_linear", [16], [["Linear", {"in_features": 16, "out_features": 32}], ["Dropout", {"p": 0.5}],
                                     ["Linear", {"in_features": 32, "out_features": 4}]]),
    ("linear_relu_dropout_inplace", [16], [["Linear", {"in_features": 16, "out_features": 32}], ["ReLU", {"inplace": True}], ["Dropout", {"p": 0.5, "inplace": True}]]),
    ("conv_identity", [3, 8, 8], [["Conv2d", {"in_channels": 3, "out_channels": 4, "kernel_size": 3}], ["Identity", {}], ["ReLU", {}]]),
]
# every activation, plain and (where it has the option) in place, after a conv and before a conv
for _name, _kw in [("SiLU", {}), ("Hardswish", {}), ("Hardsigmoid", {}), ("Mish", {}), ("SELU", {}), ("Sigmoid", {}), ("Tanh", {}),
                   ("Tanhshrink", {}), ("Softsign", {}), ("LogSigmoid", {}), ("PReLU", {}), ("PReLU", {"num_parameters": 8}),
                   ("Softmax", {"dim": 1}), ("LogSoftmax", {"dim": 1}), ("Softmin", {"dim": -1}), ("Softmax2d", {}), ("GLU", {"dim": 1}),
                   ("CELU", {}), ("Softplus", {}), ("Threshold", {"threshold": 0.1, "value": 0.0}), ("Hardshrink", {}), ("Softshrink", {}),
                   ("RReLU", {}), ("LeakyReLU", {}), ("ELU", {}), ("Hardtanh", {}), ("GELU", {}), ("GELU", {"approximate": "tanh"}), ("ReLU6", {})]:
    _tag = _name.lower() + "".join("_%s" % v for v in _kw.values())
    _out = 4 if _name == "GLU" else 8
    TRAIN_CASES.append(("act_" + _tag, S2, [C38, [_name, _kw], _c(_out, 4, 1)]))
    if _name in ("SiLU", "Hardswish", "Hardsigmoid", "Mish", "SELU", "CELU", "Threshold", "RReLU", "LeakyReLU", "ELU", "Hardtanh", "ReLU6"):
        TRAIN_CASES.append(("act_" + _tag + "_inplace", S2, [C38, [_name, dict(_kw, inplace=True)], _c(8, 4, 1)]))
TRAIN_CASES += [
    ("prelu_first", S2, [["PReLU", {}]]),
    ("conv1d", S1, [_c(3, 8, d=1), _c(8, 4, 1, d=1)]),
    ("conv3d", S3, [_c(3, 8, d=3), _c(8, 4, 1, d=3)]),
    ("convT1d", S1, [_c(3, 8, d=1), ["ConvTranspose1d", {"in_channels": 8, "out_channels": 4, "kernel_size": 2, "stride": 2}]]),
    ("convT2d", S2, [C38, ["ConvTranspose2d", {"in_channels": 8, "out_channels": 4, "kernel_size": 2, "stride": 2}]]),
    ("convT3d", S3, [_c(3, 8, d=3), ["ConvTranspose3d", {"in_channels": 8, "out_channels": 4, "kernel_size": 2, "stride": 2}]]),
    ("convT2d_first", S2, [["ConvTranspose2d", {"in_channels": 3, "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1}]]),
    ("maxpool1d", S1, [_c(3, 8, d=1), ["MaxPool1d", {"kernel_size": 2}]]),
    ("maxpool3d", S3, [_c(3, 8, d=3), ["MaxPool3d", {"kernel_size": 2}]]),
    ("maxpool2d_first", S2, [["MaxPool2d", {"kernel_size": 2}], _c(3, 4, 1)]),
    ("avgpool1d", S1, [_c(3, 8, d=1), ["AvgPool1d", {"kernel_size": 2}]]),
    ("avgpool2d", S2, [C38, ["AvgPool2d", {"kernel_size": 2}]]),
    ("avgpool2d_3s1p1", S2, [C38, ["AvgPool2d", {"kernel_size": 3, "stride": 1, "padding": 1}]]),
    ("avgpool3d", S3, [_c(3, 8, d=3), ["AvgPool3d", {"kernel_size": 2}]]),
    ("adaptive_max2d", S2, [C38, ["AdaptiveMaxPool2d", {"output_size": 3}]]),
    ("adaptive_max2d_1", S2, [C38, ["AdaptiveMaxPool2d", {"output_size": 1}]]),
    ("adaptive_max1d", S1, [_c(3, 8, d=1), ["AdaptiveMaxPool1d", {"output_size": 3}]]),
    ("adaptive_max3d", S3, [_c(3, 8, d=3), ["AdaptiveMaxPool3d", {"output_size": 2}]]),
    ("adaptive_avg1d_1", S1, [_c(3, 8, d=1), ["AdaptiveAvgPool1d", {"output_size": 1}]]),
    ("adaptive_avg1d_3", S1, [_c(3, 8, d=1), ["AdaptiveAvgPool1d", {"output_size": 3}]]),
    ("adaptive_avg3d_1", S3, [_c(3, 8, d=3), ["AdaptiveAvgPool3d", {"output_size": 1}]]),
    ("adaptive_avg3d_2", S3, [_c(3, 8, d=3), ["AdaptiveAvgPool3d", {"output_size": 2}]]),
    ("lppool1d", S1, [_c(3, 8, d=1), ["LPPool1d", {"norm_type": 2, "kernel_size": 2}]]),
    ("lppool2d", S2, [C38, ["LPPool2d", {"norm_type": 2, "kernel_size": 2}]]),
    ("lppool2d_p3_s1", S2, [C38, ["LPPool2d", {"norm_type": 3, "kernel_size": 3, "stride": 1}]]),
    ("bn1d", S1, [_c(3, 8, d=1), ["BatchNorm1d", {"num_features": 8}]]),
    ("bn3d", S3, [_c(3, 8, d=3), ["BatchNorm3d", {"num_features": 8}]]),
    ("bn2d_first", S2, [["BatchNorm2d", {"num_features": 3}]]),
    ("bn2d_first_noaffine", S2, [["BatchNorm2d", {"num_features": 3, "affine": False}]]),
    ("instancenorm2d", S2, [C38, ["InstanceNorm2d", {"num_features": 8}]]),
    ("instancenorm1d", S1, [_c(3, 8, d=1), ["InstanceNorm1d", {"num_features": 8}]]),
    ("instancenorm3d", S3, [_c(3, 8, d=3), ["InstanceNorm3d", {"num_features": 8}]]),
    ("instancenorm2d_affine", S2, [C38, ["InstanceNorm2d", {"num_features": 8, "affine": True}]]),
    ("instancenorm2d_track", S2, [C38, ["InstanceNorm2d", {"num_features": 8, "track_running_stats": True}]]),
    ("instancenorm2d_affine_track", S2, [C38, ["InstanceNorm2d", {"num_features": 8, "affine": True, "track_running_stats": True}]]),
    ("groupnorm", S2, [C38, ["GroupNorm", {"num_groups": 2, "num_channels": 8}]]),
    ("groupnorm_noaffine", S2, [C38, ["GroupNorm", {"num_groups": 4, "num_channels": 8, "affine": False}]]),
    ("groupnorm_first", S2, [["GroupNorm", {"num_groups": 1, "num_channels": 3}]]),
    ("layernorm_chw", S2, [C38, ["LayerNorm", {"normalized_shape": [8, 8, 8]}]]),
    ("layernorm_last", S2, [C38, ["LayerNorm", {"normalized_shape": 8}]]),
    ("layernorm_noaffine", S2, [C38, ["LayerNorm", {"normalized_shape": 8, "elementwise_affine": False}]]),
    ("layernorm_nobias", S2, [C38, ["LayerNorm", {"normalized_shape": 8, "bias": False}]]),
    ("layernorm_first", S2, [["LayerNorm", {"normalized_shape": 10}]]),
    ("layernorm2d", S2, [C38, ["LayerNorm2d", {"normalized_shape": 8}], _c(8, 4, 1)]),
    ("layernorm2d_first", S2, [["LayerNorm2d", {"normalized_shape": 3}], _c(3, 4, 1)]),
    ("permute_layernorm_linear_gelu", S2, [C38, ["Permute", {"dims": [0, 2, 3, 1]}], ["LayerNorm", {"normalized_shape": 8}],
                                           ["Linear", {"in_features": 8, "out_features": 16}], ["GELU", {}], ["Linear", {"in_features": 16, "out_features": 8}],
                                           ["Permute", {"dims": [0, 3, 1, 2]}], ["LayerScale2d", {"dim": 8}], ["StochasticDepth", {"p": 0.25, "mode": "row"}]]),
    ("permute_linear", S2, [C38, ["Permute", {"dims": [0, 2, 3, 1]}], ["Linear", {"in_features": 8, "out_features": 4}]]),
    ("permute_relu_linear", S2, [C38, ["Permute", {"dims": [0, 2, 3, 1]}], ["ReLU", {}], ["Linear", {"in_features": 8, "out_features": 4}]]),
    ("permute_flatten_linear", S2, [C38, ["Permute", {"dims": [0, 2, 3, 1]}], ["Flatten", {}], ["Linear", {"in_features": 512, "out_features": 3}]]),
    ("transpose_reshape_linear", S1, [_c(3, 8, d=1), ["Transpose", {"dim0": 1, "dim1": 2}], ["Reshape", {"shape": [-1, 64]}],
                                      ["Linear", {"in_features": 64, "out_features": 3}]]),
    ("linear_3d", S1, [_c(3, 8, d=1), ["Linear", {"in_features": 8, "out_features": 4}]]),
    ("layerscale", S2, [C38, ["Permute", {"dims": [0, 2, 3, 1]}], ["LayerScale", {"dim": 8}]]),
    ("layerscale2d", S2, [C38, ["LayerScale2d", {"dim": 8}]]),
    ("layerscale2d_inplace", S2, [C38, ["LayerScale2d", {"dim": 8, "inplace": True}], _c(8, 4, 1)]),
    ("dropout1d", S1, [_c(3, 8, d=1), ["Dropout1d", {"p": 0.5}]]),
    ("dropout2d", S2, [C38, ["Dropout2d", {"p": 0.5}]]),
    ("dropout2d_inplace", S2, [C38, ["Dropout2d", {"p": 0.5, "inplace": True}], _c(8, 4, 1)]),
    ("dropout3d", S3, [_c(3, 8, d=3), ["Dropout3d", {"p": 0.5}]]),
    ("alpha_dropout", S2, [C38, ["AlphaDropout", {"p": 0.5}]]),
    ("feature_alpha_dropout", S2, [C38, ["FeatureAlphaDropout", {"p": 0.5}]]),
    ("dropout_4d", S2, [C38, ["Dropout", {"p": 0.2}], _c(8, 4, 1)]),
    ("dropout_p0", S2, [C38, ["Dropout", {"p": 0.0}], _c(8, 4, 1)]),
    ("stochastic_depth_row", S2, [C38, ["StochasticDepth", {"p": 0.2, "mode": "row"}], _c(8, 4, 1)]),
    ("stochastic_depth_batch", S2, [C38, ["StochasticDepth", {"p": 0.2, "mode": "batch"}], _c(8, 4, 1)]),
    ("stochastic_depth_p0", S2, [C38, ["StochasticDepth", {"p": 0.0, "mode": "row"}], _c(8, 4, 1)]),
    ("upsample_nearest", S2, [C38, ["Upsample", {"scale_factor": 2}]]),
    ("upsample_bilinear", S2, [C38, ["Upsample", {"scale_factor": 2, "mode": "bilinear"}]]),
    ("upsample_bilinear_corners", S2, [C38, ["Upsample", {"size": [13, 13], "mode": "bilinear", "align_corners": True}]]),
    ("upsample_bicubic", S2, [C38, ["Upsample", {"scale_factor": 2, "mode": "bicubic"}]]),
    ("upsample_linear1d", S1, [_c(3, 8, d=1), ["Upsample", {"scale_factor": 2, "mode": "linear"}]]),
    ("upsample_trilinear", S3, [_c(3, 8, d=3), ["Upsample", {"scale_factor": 2, "mode": "trilinear"}]]),
    ("interpolate_bilinear", S2, [C38, ["Interpolate", {"size": [5, 7], "mode": "bilinear", "align_corners": False}]]),
    ("interpolate_area", S2, [C38, ["Interpolate", {"size": [4, 4], "mode": "area"}]]),
    ("interpolate_nearest_exact", S2, [C38, ["Interpolate", {"scale_factor": 2, "mode": "nearest-exact"}]]),
    ("zeropad2d", S2, [C38, ["ZeroPad2d", {"padding": 1}], _c(8, 4, 1)]),
    ("zeropad1d", S1, [_c(3, 8, d=1), ["ZeroPad1d", {"padding": 2}]]),
    ("constantpad3d", S3, [_c(3, 8, d=3), ["ConstantPad3d", {"padding": 1, "value": 0.5}]]),
    ("reflectionpad2d", S2, [C38, ["ReflectionPad2d", {"padding": 1}]]),
    ("reflectionpad1d", S1, [_c(3, 8, d=1), ["ReflectionPad1d", {"padding": 2}]]),
    ("replicationpad2d", S2, [C38, ["ReplicationPad2d", {"padding": 1}]]),
    ("replicationpad3d", S3, [_c(3, 8, d=3), ["ReplicationPad3d", {"padding": 1}]]),
    ("circularpad2d", S2, [C38, ["CircularPad2d", {"padding": 1}]]),
    ("centercrop_conv", S2, [C38, ["CenterCrop", {"size": 4}], _c(8, 4, 1)]),
    ("padto_conv", S2, [C38, ["PadTo", {"size": [11, 12]}], _c(8, 4, 1)]),
    ("mean", S2, [C38, ["Mean", {"dim": [2, 3]}]]),
    ("mean_keepdim", S2, [C38, ["Mean", {"dim": [2, 3], "keepdim": True}], _c(8, 4, 1)]),
    ("reduce_sum", S2, [C38, ["ReduceSum", {"dim": 1}]]),
    ("amax", S2, [C38, ["Amax", {"dim": [2, 3]}]]),
    ("amin", S2, [C38, ["Amin", {"dim": 1}]]),
    ("unflatten", S2, [C38, ["Unflatten", {"dim": 1, "unflattened_size": [2, 4]}]]),
    ("squeeze_unsqueeze_linear", S2, [C38, ["AdaptiveAvgPool2d", {"output_size": 1}], ["Squeeze", {}], ["Unsqueeze", {"dim": 0}],
                                      ["Linear", {"in_features": 8, "out_features": 4}]]),
    ("reshape_linear", S2, [C38, ["Reshape", {"shape": [-1, 512]}], ["Linear", {"in_features": 512, "out_features": 4}]]),
    ("pixel_shuffle", S2, [_c(3, 16), ["PixelShuffle", {"upscale_factor": 2}], _c(4, 4, 1)]),
    ("pixel_unshuffle", S2, [C38, ["PixelUnshuffle", {"downscale_factor": 2}], _c(32, 4, 1)]),
    ("channel_shuffle", S2, [C38, ["ChannelShuffle", {"groups": 2}], _c(8, 4, 1)]),
    ("narrow_conv", S2, [C38, ["Narrow", {"dim": 1, "start": 2, "length": 4}], _c(4, 4, 1)]),
    ("narrow_relu", S2, [C38, ["Narrow", {"dim": 1, "start": 0, "length": 4}], ["ReLU", {}]]),
    # Ultralytics' DFL (its frozen 1x1 conv): after a conv, and on the input (no gradient)
    ("dfl", [3, 20], [_c(3, 64, 1, 1), ["DFL", {"c1": 16}]]),
    ("dfl_8", [3, 7], [_c(3, 32, 1, 1), ["DFL", {"c1": 8}]]),
    ("dfl_first", [64, 20], [["DFL", {"c1": 16}]]),
]
# Merges: [pre layers], [branch layers], merge kind: y0 = pre(x), y = branch(y0), merge(y, y0)
# (cnncalc: the branch in a block, the merge `from: input`).
TRAIN_MERGE_CASES = [
    ("add", S2, [C38], [["ReLU", {}], _c(8, 8, 1)], ["Add", {}]),
    ("mul_same", S2, [C38], [_c(8, 8, 1)], ["Mul", {}]),
    ("mul_se", S2, [C38, ["SiLU", {}]], [["AdaptiveAvgPool2d", {"output_size": 1}], _c(8, 2, 1), ["SiLU", {}], _c(2, 8, 1), ["Sigmoid", {}]], ["Mul", {}]),
    ("mul_se_hard", S2, [C38, ["Hardswish", {"inplace": True}]], [["AdaptiveAvgPool2d", {"output_size": 1}], _c(8, 2, 1), ["ReLU", {}], _c(2, 8, 1), ["Hardsigmoid", {}]], ["Mul", {}]),
    ("mul_first", S2, [], [["AdaptiveAvgPool2d", {"output_size": 1}], _c(3, 3, 1), ["Sigmoid", {}]], ["Mul", {}]),
    ("concat", S2, [C38], [_c(8, 4, 1), ["ReLU", {"inplace": True}]], ["Concat", {"dim": 1}]),
    ("concat_conv", S2, [C38], [_c(8, 4, 1)], ["Concat", {"dim": 1}], ),
    # torch.matmul(y, y0): attention's q^T k (a transposed view of the same storage), a product
    # of two new tensors, one input without a gradient, neither
    ("matmul_transposed", S2, [C38], [["Transpose", {"dim0": -2, "dim1": -1}]], ["MatMul", {}]),
    ("matmul_conv", S2, [C38], [_c(8, 8, 1)], ["MatMul", {}]),
    ("matmul_first_grad", S2, [], [_c(3, 3, 1)], ["MatMul", {}]),
    ("matmul_no_grad", S2, [], [["Transpose", {"dim0": -2, "dim1": -1}]], ["MatMul", {}]),
    ("matmul_3d", S1, [_c(3, 10, 1, 1)], [["Transpose", {"dim0": -2, "dim1": -1}], ["ReLU", {}]], ["MatMul", {}]),
]
TRAIN_PRECISION_CASES = {"conv_bn", "conv_relu_conv", "conv_maxpool", "conv_flatten_linear", "linear", "linear_dropout_linear", "conv_adaptive_avg_1",
                         "act_silu", "act_hardswish_inplace", "act_gelu", "act_sigmoid", "act_softmax_1", "layernorm_last", "layernorm2d",
                         "permute_layernorm_linear_gelu", "groupnorm", "convT2d", "convT2d_first", "dropout2d", "stochastic_depth_row", "avgpool2d",
                         "upsample_bilinear", "upsample_nearest", "channel_shuffle", "layerscale2d", "conv1d", "bn1d", "mul_se", "concat", "add",
                         "linear_3d", "act_tanh", "prelu_first", "interpolate_bilinear"}
# Models: every shipped torchvision config (ZOO) at batch 1 and 8 in float32; a few also as a
# model cast to 16-bit and under CPU autocast; the segmentation configs below (make_train).
TRAIN_BATCHES = [1, 8]
TRAIN_PRECISION_MODELS = ["resnet18", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "convnext_tiny"]
PRECISIONS = [("bfloat16", False), ("float16", False), ("bfloat16", True), ("float16", True)]


class Narrow(nn.Module):
    def __init__(self, dim, start, length):
        super().__init__()
        self.dim, self.start, self.length = dim, start, length

    def forward(self, x):
        return x.narrow(self.dim, self.start, self.length)


class LayerScale(nn.Module):
    """timm.layers.LayerScale: x * gamma over the last dim (in place: x.mul_(gamma))."""

    def __init__(self, dim, init_values=1e-5, inplace=False):
        super().__init__()
        self.inplace = inplace
        self.gamma = nn.Parameter(init_values * torch.ones(dim))

    def forward(self, x):
        return x.mul_(self.gamma) if self.inplace else x * self.gamma


class LayerScale2d(LayerScale):
    """timm.layers.LayerScale2d: x * gamma.view(1, -1, 1, 1)."""

    def forward(self, x):
        gamma = self.gamma.view(1, -1, 1, 1)
        return x.mul_(gamma) if self.inplace else x * gamma


class DFL(nn.Module):
    """ultralytics.nn.modules.block.DFL (8.4.190), written out (no ultralytics in this venv)."""

    def __init__(self, c1=16):
        super().__init__()
        self.conv = nn.Conv2d(c1, 1, 1, bias=False).requires_grad_(False)
        self.conv.weight.data[:] = nn.Parameter(torch.arange(c1, dtype=torch.float).view(1, c1, 1, 1))
        self.c1 = c1

    def forward(self, x):
        b, _, a = x.shape
        return self.conv(x.view(b, 4, self.c1, a).transpose(2, 1).softmax(1)).view(b, 4, a)


def train_layer(kind, kwargs):
    import torchvision

    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    local = {"Narrow": Narrow, "LayerScale": LayerScale, "LayerScale2d": LayerScale2d, "Permute": torchvision.ops.misc.Permute,
             "StochasticDepth": torchvision.ops.StochasticDepth, "LayerNorm2d": torchvision.models.convnext.LayerNorm2d, "DFL": DFL}
    if kind in local:
        return local[kind](**kwargs)
    if kind in SIZE_LAYERS:
        return SIZE_LAYERS[kind](**kwargs)
    return getattr(nn, kind)(**kwargs)


class Merge(nn.Module):
    def __init__(self, pre, branch, kind, kwargs):
        super().__init__()
        self.pre, self.branch, self.kind, self.kwargs = pre, branch, kind, kwargs

    def forward(self, x):
        y0 = self.pre(x)
        y = self.branch(y0)
        if self.kind == "Add":
            return y + y0
        if self.kind == "Mul":
            return y * y0
        if self.kind == "MatMul":
            return torch.matmul(y, y0)
        return torch.cat((y, y0), **self.kwargs)


def _weight_cast(t, params):
    """True when t is (a view of) a cast copy of a parameter (autocast's weight cache)."""
    g = t.grad_fn
    while g is not None and type(g).__name__ != "ToCopyBackward0":
        nxt = [f for f, _ in g.next_functions if f is not None]
        if len(nxt) != 1 or not type(g).__name__.endswith(("TBackward0", "ViewBackward0", "PermuteBackward0", "TransposeBackward0", "ExpandBackward0")):
            return False
        g = nxt[0]
    if g is None:
        return False
    nxt = [f for f, _ in g.next_functions if f is not None]
    return len(nxt) == 1 and type(nxt[0]).__name__ == "AccumulateGrad" and nxt[0].variable.untyped_storage().data_ptr() in params


def saved_bytes(model, x, dtype="float32", mixed=False):
    """Bytes of the tensors autograd saves in one training forward pass, once per storage,
    parameter storages left out (torch.autograd.graph.saved_tensors_hooks); with `mixed`, the
    bytes of autocast's cast copies of parameters apart (they are not parameter storages)."""
    import contextlib

    model.train()
    if not mixed and dtype != "float32":
        model.to(getattr(torch, dtype))
        x = x.to(getattr(torch, dtype))
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen, casts = {}, {}

    def pack(t):
        s = t.untyped_storage()
        if s.data_ptr() not in params and s.data_ptr() not in seen and s.data_ptr() not in casts:
            (casts if mixed and _weight_cast(t, params) else seen)[s.data_ptr()] = s.nbytes()
        return t.detach()  # not t: a saved output holding its own grad_fn would make a cycle (kept alive)

    amp = torch.autocast("cpu", dtype=getattr(torch, dtype)) if mixed else contextlib.nullcontext()
    with amp, torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x)
    return sum(seen.values()), len(seen), sum(casts.values())


def _train_record(base, model, x, dtype, mixed):
    total, count, cast = saved_bytes(model, x, dtype, mixed)
    return dict(base, dtype=dtype, mixed=mixed, saved_bytes=total, storages=count, weight_cast_bytes=cast)


def _train_key(record):
    return (record.get("model") or record["name"], record["batch"], record["dtype"], record["mixed"])


def make_train(path: str) -> None:
    """Write train_memory_torch.json; resumable: the records already in the file are kept and not
    measured again (the file is rewritten after every model, so a killed run loses one model)."""
    import torchvision

    torch.manual_seed(0)
    out = {
        "meta": {
            "source": "torch %s, torchvision %s, CPU, %s" % (torch.__version__, torchvision.__version__, sys.version.split()[0]),
            "method": "torch.autograd.graph.saved_tensors_hooks over one forward pass in train mode; "
            "bytes counted once per storage (untyped_storage().data_ptr()), parameter storages left out; "
            "the input does not require grad; dtype float32, or a 16-bit dtype with mixed false (model and input cast "
            "with .to(dtype)) or mixed true (torch.autocast('cpu', dtype), float32 parameters and input): then "
            "weight_cast_bytes are the saved cast copies of parameters (ToCopyBackward0 of a parameter), "
            "not in saved_bytes",
        },
        "cases": [],
        "merge_cases": [],
        "models": [],
    }
    if os.path.exists(path):
        with open(path) as f:
            old = json.load(f)
        for section in ("cases", "merge_cases", "models"):
            out[section] = [r for r in old.get(section, []) if "dtype" in r]
    done = {_train_key(r) for section in ("cases", "merge_cases", "models") for r in out[section]}

    def save():
        with open(path, "w") as f:
            json.dump(out, f, indent=1)
            f.write("\n")

    precisions = [("float32", False)] + PRECISIONS
    for name, shape, layers in TRAIN_CASES:
        for dtype, mixed in precisions if name in TRAIN_PRECISION_CASES else precisions[:1]:
            for batch in (1, 2):
                if (name, batch, dtype, mixed) in done:
                    continue
                torch.manual_seed(0)
                model = torch.nn.Sequential(*[train_layer(t, kw) for t, kw in layers])
                base = {"name": name, "input": shape, "layers": layers, "batch": batch}
                out["cases"].append(_train_record(base, model, torch.randn(batch, *shape), dtype, mixed))
    for name, shape, pre, branch, merge in TRAIN_MERGE_CASES:
        for dtype, mixed in precisions if name in TRAIN_PRECISION_CASES else precisions[:1]:
            for batch in (1, 2):
                if (name, batch, dtype, mixed) in done:
                    continue
                torch.manual_seed(0)
                model = Merge(nn.Sequential(*[train_layer(t, kw) for t, kw in pre]), nn.Sequential(*[train_layer(t, kw) for t, kw in branch]), *merge)
                base = {"name": name, "input": shape, "pre": pre, "branch": branch, "merge": merge, "batch": batch}
                out["merge_cases"].append(_train_record(base, model, torch.randn(batch, *shape), dtype, mixed))
    save()
    factories = {name: (lambda n=name, e=extra: getattr(torchvision.models, n)(weights=None, **e), 3, (res, res), TRAIN_BATCHES)
                 for name, _, res, extra in ZOO}
    # the segmentation configs at their smaller recorded size and batches that fit in memory
    # (deeplab's ASPP pooling BatchNorm refuses one value per channel at batch 1)
    sizes = {"unet": ((508, 380), [1, 2]), "unet_padded": ((250, 250), [1, 8]), "deeplabv3_resnet50": ((513, 513), [2])}
    factories.update({name: (factory, channels, *sizes[name]) for name, _, factory, channels, _ in SEGMENTATION})
    # float32 first, then the 16-bit runs (slow on CPU), the acceptance models first
    order = [(name, "float32", False) for name in factories]
    order += [(name, dtype, mixed) for name in TRAIN_PRECISION_MODELS for dtype, mixed in PRECISIONS]
    for name, dtype, mixed in order:
        factory, channels, size, batches = factories[name]
        for batch in batches:
            if (name, batch, dtype, mixed) in done:
                continue
            torch.manual_seed(0)
            model = factory()
            x = torch.randn(batch, channels, *size)
            base = {"model": name, "input": [channels, *size], "batch": batch}
            out["models"].append(_train_record(base, model, x, dtype, mixed))
            print(name, dtype, mixed, batch, out["models"][-1]["saved_bytes"], out["models"][-1]["weight_cast_bytes"], flush=True)
            del model, x
            save()


YOLO_SIZES = {"tiny-det.yaml": [640, 320], "tiny-more.yaml": [640, 320], "tiny11.yaml": [640], "tiny-v5.yaml": [640, 416], "tiny-cls.yaml": [640, 224],
              "tiny-seg.yaml": [640], "tiny-pose.yaml": [640]}


def _tensor_shapes(value, key=""):
    """Every tensor in a nested output (tuples, lists, dicts) as [key, shape]."""
    if isinstance(value, torch.Tensor):
        return [[key, list(value.shape)]]
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in _tensor_shapes(v, f"{key}.{k}" if key else str(k))]
    if isinstance(value, (list, tuple)):
        return [item for i, v in enumerate(value) for item in _tensor_shapes(v, f"{key}[{i}]")]
    return []


def yolo_model(d: dict):
    """The ultralytics model for a model dict, as ultralytics.YOLO(cfg) builds it for its task."""
    from ultralytics.nn import tasks

    task = tasks.guess_model_task(d)
    cls = {"detect": tasks.DetectionModel, "segment": tasks.SegmentationModel, "pose": tasks.PoseModel,
           "classify": tasks.ClassificationModel}[task]
    return task, cls(copy.deepcopy(d), ch=3, verbose=False)


def analyse_yolo(d: dict, sizes: list) -> dict:
    """Per-row params, totals, trainable params, GFLOPs (get_flops, as model.info() prints them)
    and the output shapes of one ultralytics model, at each image size."""
    import thop
    from ultralytics.utils.torch_utils import get_flops

    task, model = yolo_model(d)
    rows = [{"index": m.i, "from": m.f, "module": m.type, "params": int(m.np)} for m in model.model]
    out = {"task": task, "rows": rows, "params": sum(p.numel() for p in model.parameters()),
           "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad), "sizes": []}
    for size in sizes:
        gflops = get_flops(model, size)
        ops = thop.profile(copy.deepcopy(model), inputs=[torch.zeros(1, 3, size, size)], verbose=False)[0]  # no stride: the full image
        model.eval()
        with torch.no_grad():
            y = model(torch.zeros(1, 3, size, size))
        model.train()
        feats = []
        if task != "classify":  # training mode: the levels' raw outputs
            with torch.no_grad():
                head = model.model[-1]
                saved = []
                hook = head.register_forward_pre_hook(lambda m, a, saved=saved: saved.append([list(t.shape) for t in a[0]]))
                model(torch.zeros(1, 3, size, size))
                hook.remove()
                feats = saved[0]
                branches = [[list(head.cv2[i](torch.zeros(1, *shape[1:])).shape), list(head.cv3[i](torch.zeros(1, *shape[1:])).shape)]
                            for i, shape in enumerate(feats)]
        out["sizes"].append({"imgsz": size, "gflops": gflops, "thop_ops": ops, "eval_outputs": _tensor_shapes(y),
                             "head_inputs": feats, "head_levels": branches if task != "classify" else []})
    return out


def make_yolo(path: str, acceptance: str | None = None, only: list[str] | None = None) -> None:
    """tests/data/yolo/*.yaml (our own small models in Ultralytics' format) at each of their scales,
    built by the ultralytics package; MatMul and DFL single-layer cases. With `acceptance`, the
    package's own model files too (yolov8n/s/m, yolo11n/s, yolov5nu, yolov8n-cls), written there
    (outside the repo: those files are AGPL-3.0 and are not part of it)."""
    import ultralytics
    import yaml as pyyaml
    from ultralytics.nn.modules.block import DFL
    from ultralytics.nn.tasks import yaml_model_load

    out = {"meta": {"source": "torch %s, ultralytics %s, thop %s, CPU, %s" % (
        torch.__version__, ultralytics.__version__, importlib.metadata.version("ultralytics-thop"), sys.version.split()[0]),
        "method": "ultralytics.nn.tasks.{Detection,Segmentation,Pose,Classification}Model(cfg dict with 'scale', ch=3); "
                  "rows: m.np of each model.model entry; trainable: requires_grad; gflops: utils.torch_utils.get_flops(model, imgsz) "
                  "(as model.info() prints it); thop_ops: thop.profile at the full image (no stride proxies); eval_outputs: "
                  "model.eval() output tensors at batch 1; head_inputs/head_levels: the head's inputs and each level's cv2/cv3 outputs"},
           "models": [], "matmul": [], "dfl": []}
    here = os.path.join(DATA, "yolo")
    if only and os.path.exists(path):  # re-record these files only, keeping the others' records
        with open(path) as f:
            out["models"] = [m for m in json.load(f)["models"] if m["file"] not in only]
    for name in sorted(os.listdir(here)):
        if not name.endswith(".yaml") or (only and name not in only):
            continue
        with open(os.path.join(here, name)) as f:
            d = pyyaml.safe_load(f)
        for scale in (list(d["scales"]) if "scales" in d else [""]):
            dd = dict(d, scale=scale, yaml_file=name)
            record = analyse_yolo(dd, YOLO_SIZES.get(name, [640]))
            out["models"].append({"file": name, "scale": scale, **record})
            print(name, scale, record["params"], record["trainable"], [s["gflops"] for s in record["sizes"]], flush=True)
    out["models"].sort(key=lambda m: (m["file"], m["scale"]))
    for a, b in [([2, 3], [3, 4]), ([1, 4, 5, 8], [1, 4, 8, 5]), ([2, 1, 6, 3], [4, 3, 2]), ([7, 2, 3], [3, 9]), ([1, 2, 16, 8], [1, 2, 8, 16])]:
        y = torch.matmul(torch.zeros(*a), torch.zeros(*b))
        out["matmul"].append({"a": a, "b": b, "output_shape": list(y.shape)})
    for c1, anchors in [(16, 8400), (8, 100), (1, 5)]:
        m = DFL(c1)
        y = m(torch.zeros(2, 4 * c1, anchors))
        out["dfl"].append({"c1": c1, "input_shape": [2, 4 * c1, anchors], "output_shape": list(y.shape),
                           "params": sum(p.numel() for p in m.parameters()),
                           "trainable": sum(p.numel() for p in m.parameters() if p.requires_grad)})
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    if acceptance:
        acc = {"meta": out["meta"], "models": []}
        for stem in ["yolov8n", "yolov8s", "yolov8m", "yolo11n", "yolo11s", "yolov5nu", "yolov8n-cls"]:
            d = yaml_model_load(stem + ".yaml")
            record = analyse_yolo(d, [640])
            acc["models"].append({"model": stem, "scale": d["scale"], "yaml": d["yaml_file"], **record})
            print(stem, record["params"], record["trainable"], record["sizes"][0]["gflops"], flush=True)
        with open(acceptance, "w") as f:
            json.dump(acc, f, indent=1)
            f.write("\n")


YOLO_TRAIN_IMGSZ = 320
YOLO_TRAIN_BATCHES = [1, 2]
YOLO_TRAIN_PRECISIONS = [("float32", False), ("bfloat16", True)]


def make_yolo_train(path: str) -> None:
    """Training memory of tests/data/yolo/*.yaml at each of their scales: the model built by the
    ultralytics package (yolo_model), train mode, the saved tensors of one forward pass at
    3 x YOLO_TRAIN_IMGSZ^2 (saved_bytes: once per storage, parameters left out, the input needs
    no gradient), batch 1 and 2, float32 and under CPU autocast bfloat16. In train mode the heads
    return their raw outputs (Detect: no DFL, no sigmoid; Classify: no softmax). Resumable."""
    import ultralytics
    import yaml as pyyaml

    out = {"meta": {"source": "torch %s, ultralytics %s, CPU, %s" % (torch.__version__, ultralytics.__version__, sys.version.split()[0]),
                    "method": "ultralytics.nn.tasks.*Model(cfg dict with 'scale', ch=3), model.train(); "
                              "torch.autograd.graph.saved_tensors_hooks over one forward pass of torch.randn(batch, 3, imgsz, imgsz) "
                              "(no grad), bytes once per storage (untyped_storage().data_ptr()), parameter storages left out; float32, "
                              "or mixed: torch.autocast('cpu', bfloat16) with float32 parameters, the saved cast copies of parameters "
                              "apart as weight_cast_bytes",
                    "imgsz": YOLO_TRAIN_IMGSZ},
           "models": []}
    if os.path.exists(path):
        with open(path) as f:
            out["models"] = [dict({"dtype": "float32", "mixed": False, "weight_cast_bytes": 0}, **m) for m in json.load(f)["models"]]
    done = {(m["file"], m["scale"], m["batch"], m["dtype"], m["mixed"]) for m in out["models"]}
    here = os.path.join(DATA, "yolo")
    for dtype, mixed in YOLO_TRAIN_PRECISIONS:
        for name in sorted(os.listdir(here)):
            if not name.endswith(".yaml"):
                continue
            with open(os.path.join(here, name)) as f:
                d = pyyaml.safe_load(f)
            for scale in (list(d["scales"]) if "scales" in d else [""]):
                for batch in YOLO_TRAIN_BATCHES:
                    if (name, scale, batch, dtype, mixed) in done:
                        continue
                    torch.manual_seed(0)
                    _, model = yolo_model(dict(d, scale=scale, yaml_file=name))
                    total, count, cast = saved_bytes(model, torch.randn(batch, 3, YOLO_TRAIN_IMGSZ, YOLO_TRAIN_IMGSZ), dtype, mixed)
                    out["models"].append({"file": name, "scale": scale, "batch": batch, "imgsz": YOLO_TRAIN_IMGSZ, "dtype": dtype, "mixed": mixed,
                                          "saved_bytes": total, "storages": count, "weight_cast_bytes": cast})
                    print(name, scale, batch, dtype, mixed, total, count, cast, flush=True)
                    with open(path, "w") as f:
                        json.dump(out, f, indent=1)
                        f.write("\n")


def main(argv=None):
    if os.environ.get("PYTHONHASHSEED") != "0":
        # torch formats some error messages from Python sets; pin hashing so output is byte-stable
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable] + sys.argv)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["shapes", "zoo", "lppool", "resolutions", "sizes", "segmentation", "train", "export", "yolo", "yolo-train"], help="generate just one of the files")
    ap.add_argument("--out-dir", default=DATA, help="output directory (default: tests/data of this repo)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--cnncalc-python", default=os.environ.get("CNNCALC_PYTHON", "python3"),
                    help="export: a Python with cnncalc's dependencies, run from the repo root (default $CNNCALC_PYTHON or python3)")
    ap.add_argument("--acceptance", metavar="JSON", help="yolo: also record the ultralytics package's own model files into JSON (outside the repo)")
    ap.add_argument("--models", nargs="*", help="zoo: restrict to these model names (debugging); yolo: re-record these files of tests/data/yolo only")
    ap.add_argument("--targets", nargs="*", help="export: re-record only the targets whose key starts with one of these (e.g. tests/data/yolo), "
                    "keeping the others' records of the existing file")
    ap.add_argument("--check-public", metavar="JSONL",
                    help="only replay an existing shape-case file against this torch and report disagreements")
    a = ap.parse_args(argv)
    if a.check_public:
        sys.exit(1 if check_public(a.check_public) else 0)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    os.makedirs(a.out_dir, exist_ok=True)
    if a.only in (None, "shapes"):
        make_shapes(os.path.join(a.out_dir, "shape_cases_torch.jsonl"), a.seed)
    if a.only in (None, "zoo"):
        make_zoo(os.path.join(a.out_dir, "torchvision_zoo.json"), a.models)
    if a.only in (None, "lppool"):
        make_shapes(os.path.join(a.out_dir, "lppool_cases_torch.jsonl"), a.seed, build_lppool_cases)
    if a.only in (None, "resolutions"):
        make_resolutions(os.path.join(a.out_dir, "torchvision_resolutions.json"))
    if a.only in (None, "sizes"):
        make_shapes(os.path.join(a.out_dir, "sizes_cases_torch.jsonl"), a.seed, build_sizes_cases)
    if a.only in (None, "segmentation"):
        make_segmentation(os.path.join(a.out_dir, "segmentation_torch.json"))
    if a.only in (None, "train"):
        make_train(os.path.join(a.out_dir, "train_memory_torch.json"))
    if a.only in (None, "export"):
        make_export(os.path.join(a.out_dir, "export_torch.json"), a.cnncalc_python, a.targets)
    if a.only == "yolo":  # needs the ultralytics package (its own venv): never part of the default run
        make_yolo(os.path.join(a.out_dir, "yolo", "ultralytics_reference.json"), a.acceptance, a.models)
    if a.only == "yolo-train":  # the same venv
        make_yolo_train(os.path.join(a.out_dir, "yolo", "train_memory_torch.json"))


if __name__ == "__main__":
    main()
