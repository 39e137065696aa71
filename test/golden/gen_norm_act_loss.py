#!/usr/bin/env python3
"""Golden vectors from PyTorch for the normalisation, activation, loss and merge kernels
(crates/core/src/op/{norm,activation,loss,merge}), written to norm_act_loss.json next to this script.

Inputs are mostly not stored: they come from the xorshift `data(n, seed)` of crates/core/tests/common,
re-implemented here bit for bit (the file records its first values, and the Rust test checks them), as
`scale * data(n, seed) + offset`. A case lists its inputs as {"seed", "scale", "offset"} (or literal values).

- batchnorm: torch.nn.BatchNorm1d/2d modules in float64 (float32 inputs and parameters cast with
  .double()); training and eval, affine or not, momentum 0.1 or None (cumulative average),
  track_running_stats False, a fused ReLU (relu(bn(x))); y, the gradients of x, weight and bias for a random
  upstream gradient, and the running statistics after the call. "steps20": running statistics after 20
  training forwards on different batches. "large": 50,176 values per channel with mean/std = 20: y and dx
  at sampled indices and the batch statistics, in float64 (and torch's own float32 run for comparison).
- layernorm, groupnorm: torch.nn.LayerNorm / GroupNorm in float64.
- activations: torch float32 (the kernels must match torch's float32 results); x on a grid with special
  values, y and dx for the upstream gradient dy_i = 0.5 + (i mod 5)/4.
- losses: F.cross_entropy (labels or probabilities, weights, label_smoothing, ignore_index, mean/sum),
  F.binary_cross_entropy_with_logits (weight, pos_weight), mse/l1/huber/smooth_l1 (mean/sum), in float64.
- gate: the squeeze-and-excitation product x * s[:, :, None, None] in float64.

Numbers are float32 values written as numpy's shortest float32 repr (asserted to round-trip through
float64), except losses and statistics, written as float64 reprs; null where torch's result is not finite.

Run from the repository root: .venv/bin/python test/golden/gen_norm_act_loss.py
"""

import json
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_grad_enabled(True)


def data(n, seed):
    """crates/core/tests/common::data: xorshift32 values in [-1, 1), float32 arithmetic as in Rust."""
    s = (seed * 2654435761 + 1) & 0xFFFFFFFF
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        out[i] = np.float32(s) / np.float32(4294967295.0) * np.float32(2.0) - np.float32(1.0)
    return out


def gen(n, seed, scale=1.0, offset=0.0):
    v = (data(n, seed) * np.float32(scale) + np.float32(offset)).astype(np.float32)
    return v, {"seed": seed, "scale": scale, "offset": offset}


def f32(a):
    """float32 values as the shortest decimals that round-trip (through float64, as JSON readers parse);
    null for a NaN or infinity (torch's tanh-GELU gradient at |x| = 1e30 is NaN: x³ overflows)."""
    out = []
    for v in np.asarray(a, dtype=np.float32).ravel():
        if not np.isfinite(v):
            out.append(None)
            continue
        if v == 0 or 1e-4 <= abs(v) < 1e7:
            r = np.format_float_positional(v, unique=True, trim="-")
        else:
            r = np.format_float_scientific(v, unique=True, trim="-")
        assert np.float32(float(r)) == v, (v, r)
        out.append(float(r))
    return out


def f64(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def t64(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# ---------------------------------------------------------------- batchnorm

def batchnorm_cases():
    cases = []
    specs = [
        # name, n, c, inner, spatial (2d) or not, options, training, relu
        ("bn2d_train", 3, 4, (5, 3), dict(), True, False),
        ("bn2d_train_relu", 3, 4, (5, 3), dict(), True, True),
        ("bn2d_eval", 2, 3, (4, 3), dict(), False, False),
        ("bn2d_eval_relu", 2, 3, (4, 3), dict(), False, True),
        ("bn1d_nc_unaffine", 7, 5, (), dict(affine=False), True, False),
        ("bn1d_ncl_cumulative", 4, 3, (5,), dict(momentum=None), True, False),
        ("bn2d_untracked_eval", 3, 2, (3, 3), dict(track_running_stats=False), False, False),
    ]
    seed = 10
    for name, n, c, spatial, opts, training, relu in specs:
        shape = (n, c) + spatial
        numel = int(np.prod(shape))
        x, xs = gen(numel, seed, 2.0, 3.0)
        dy, dys = gen(numel, seed + 1)
        w, ws = gen(c, seed + 2, 1.0, 1.0)
        b, bs = gen(c, seed + 3)
        rm, rms = gen(c, seed + 4, 0.5, 3.0)
        rv, rvs = gen(c, seed + 5, 0.5, 2.0)
        seed += 10
        mod = (torch.nn.BatchNorm2d if len(spatial) == 2 else torch.nn.BatchNorm1d)(c, **opts).double()
        affine = opts.get("affine", True)
        track = opts.get("track_running_stats", True)
        with torch.no_grad():
            if affine:
                mod.weight.copy_(t64(w))
                mod.bias.copy_(t64(b))
            if track:
                mod.running_mean.copy_(t64(rm))
                mod.running_var.copy_(t64(rv))
        mod.train(training)
        xt = t64(x.reshape(shape), True)
        y = mod(xt)
        if relu:
            y = torch.relu(y)
        y.backward(t64(dy.reshape(shape)))
        case = {
            "name": name, "n": n, "c": c, "inner": int(np.prod(spatial)) if spatial else 1,
            "affine": affine, "momentum": opts.get("momentum", 0.1), "trackRunningStats": track,
            "training": training, "relu": relu, "x": xs, "dy": dys,
            "weight": ws if affine else None, "bias": bs if affine else None,
            "runningMean": rms if track else None, "runningVar": rvs if track else None,
            "y": f32(y.detach()), "dx": f32(xt.grad),
        }
        if affine:
            case["dweight"] = f32(mod.weight.grad)
            case["dbias"] = f32(mod.bias.grad)
        if track:
            case["runningMeanAfter"] = f64(mod.running_mean.detach())
            case["runningVarAfter"] = f64(mod.running_var.detach())
        cases.append(case)
    return cases


def batchnorm_steps():
    out = []
    for momentum in (0.1, None):
        n, c, h, w = 8, 3, 4, 4
        mod = torch.nn.BatchNorm2d(c, momentum=momentum).double().train()
        batches = []
        for step in range(20):
            x, xs = gen(n * c * h * w, 200 + step, 1.0 + 0.1 * step, 0.5 * step - 2.0)
            batches.append(xs)
            with torch.no_grad():
                mod(t64(x.reshape(n, c, h, w)))
        out.append({"momentum": momentum, "n": n, "c": c, "inner": h * w, "batches": batches,
                    "runningMean": f64(mod.running_mean), "runningVar": f64(mod.running_var),
                    "batchesTracked": int(mod.num_batches_tracked)})
    return out


def batchnorm_large():
    n, c, h, w = 16, 2, 56, 56
    numel = n * c * h * w
    x, xs = gen(numel, 300, 0.5, 10.0)
    dy, dys = gen(numel, 301)
    idx = np.linspace(0, numel - 1, 64).astype(np.int64)
    res = {"n": n, "c": c, "inner": h * w, "x": xs, "dy": dys, "indices": [int(i) for i in idx]}
    for dtype, key in ((torch.float64, "f64"), (torch.float32, "torch_f32")):
        mod = torch.nn.BatchNorm2d(c, momentum=1.0).to(dtype).train()
        xt = torch.tensor(x.reshape(n, c, h, w), dtype=dtype, requires_grad=True)
        y = mod(xt)
        y.backward(torch.tensor(dy.reshape(n, c, h, w), dtype=dtype))
        res[key] = {"mean": f64(mod.running_mean), "unbiasedVar": f64(mod.running_var),
                    "y": f64(y.detach().ravel()[idx]), "dx": f64(xt.grad.ravel()[idx])}
    return res


# ---------------------------------------------------------------- layernorm, groupnorm

def layernorm_cases():
    cases = []
    for k, (shape, normalized, affine) in enumerate([((3, 5, 7), (5, 7), True), ((4, 6), (6,), False), ((2, 3, 13), (13,), True)]):
        numel, d = int(np.prod(shape)), int(np.prod(normalized))
        x, xs = gen(numel, 400 + 10 * k, 1.5, -2.0)
        dy, dys = gen(numel, 401 + 10 * k)
        w, ws = gen(d, 402 + 10 * k, 1.0, 1.0)
        b, bs = gen(d, 403 + 10 * k)
        mod = torch.nn.LayerNorm(normalized, elementwise_affine=affine).double()
        if affine:
            with torch.no_grad():
                mod.weight.copy_(t64(w).reshape(normalized))
                mod.bias.copy_(t64(b).reshape(normalized))
        xt = t64(x.reshape(shape), True)
        mod(xt).backward(t64(dy.reshape(shape)))
        y = mod(xt).detach()
        case = {"shape": list(shape), "normalized": list(normalized), "affine": affine, "x": xs, "dy": dys,
                "weight": ws if affine else None, "bias": bs if affine else None, "y": f32(y), "dx": f32(xt.grad)}
        if affine:
            case["dweight"] = f32(mod.weight.grad)
            case["dbias"] = f32(mod.bias.grad)
        cases.append(case)
    return cases


def groupnorm_cases():
    cases = []
    for k, (shape, groups, affine) in enumerate([((2, 6, 5, 3), 3, True), ((3, 4, 7), 2, False), ((2, 8, 3, 3), 8, True)]):
        numel, c = int(np.prod(shape)), shape[1]
        x, xs = gen(numel, 500 + 10 * k, 0.7, 1.0)
        dy, dys = gen(numel, 501 + 10 * k)
        w, ws = gen(c, 502 + 10 * k, 1.0, 1.0)
        b, bs = gen(c, 503 + 10 * k)
        mod = torch.nn.GroupNorm(groups, c, affine=affine).double()
        if affine:
            with torch.no_grad():
                mod.weight.copy_(t64(w))
                mod.bias.copy_(t64(b))
        xt = t64(x.reshape(shape), True)
        y = mod(xt)
        y.backward(t64(dy.reshape(shape)))
        case = {"n": shape[0], "c": c, "inner": int(np.prod(shape[2:])), "groups": groups, "affine": affine,
                "x": xs, "dy": dys, "weight": ws if affine else None, "bias": bs if affine else None,
                "y": f32(y.detach()), "dx": f32(xt.grad)}
        if affine:
            case["dweight"] = f32(mod.weight.grad)
            case["dbias"] = f32(mod.bias.grad)
        cases.append(case)
    return cases


# ---------------------------------------------------------------- activations

def activation_grid():
    xs = [k / 4 for k in range(-24, 25)] + [float(k) for k in range(7, 21)] + [float(-k) for k in range(7, 21)]
    specials = [0.0, -0.0, 1e-30, -1e-30, 1e-7, -1e-7, 1e-3, -1e-3, 0.1, -0.1, 2.9999998, -2.9999998, 3.0000002,
                -3.0000002, 5.9999995, 6.0000005, -0.75, -1.278, 30.0, -30.0, 50.0, -50.0, 88.0, -88.0, 100.0,
                -100.0, 1e4, -1e4, 1e30, -1e30]
    return np.array(xs + specials, dtype=np.float32)


def activation_cases(x=None):
    x = activation_grid() if x is None else x
    dy = np.array([0.5 + (i % 5) * 0.25 for i in range(len(x))], dtype=np.float32)
    fns = [
        ("relu", {}, F.relu), ("relu6", {}, F.relu6),
        ("leaky_relu", {"negativeSlope": 0.01}, lambda v: F.leaky_relu(v, 0.01)),
        ("leaky_relu", {"negativeSlope": 0.2}, lambda v: F.leaky_relu(v, 0.2)),
        ("elu", {"alpha": 1.0}, lambda v: F.elu(v, 1.0)), ("elu", {"alpha": 0.5}, lambda v: F.elu(v, 0.5)),
        ("gelu", {}, F.gelu), ("gelu_tanh", {}, lambda v: F.gelu(v, approximate="tanh")),
        ("silu", {}, F.silu), ("hardswish", {}, F.hardswish), ("hardsigmoid", {}, F.hardsigmoid),
        ("sigmoid", {}, torch.sigmoid), ("tanh", {}, torch.tanh),
    ]
    cases = []
    for name, params, f in fns:
        xt = torch.tensor(x, requires_grad=True)
        y = f(xt)
        y.backward(torch.tensor(dy))
        cases.append({"name": name, **params, "y": f32(y.detach()), "dx": f32(xt.grad)})
    return {"x": f32(x), "cases": cases}


# ---------------------------------------------------------------- losses

def loss_cases():
    n, c = 6, 5
    z, zs = gen(n * c, 600, 3.0)
    labels = [0, 4, -100, 2, 2, 1]
    p = np.abs(data(n * c, 601)).reshape(n, c) + np.float32(0.05)
    probs = (p / p.sum(axis=1, keepdims=True)).astype(np.float32)
    weight, wsp = gen(c, 602, 0.4, 1.0)
    ce = {"n": n, "c": c, "logits": zs, "labels": labels, "probabilities": f32(probs), "weight": wsp, "cases": []}
    for reduction in ("mean", "sum"):
        for smoothing in (0.0, 0.125):  # float32-exact, as the kernel takes it
            for weighted in (False, True):
                for kind in ("labels", "probabilities"):
                    zt = t64(z.reshape(n, c), True)
                    target = torch.tensor(labels) if kind == "labels" else t64(probs)
                    loss = F.cross_entropy(zt, target, weight=t64(weight) if weighted else None, ignore_index=-100,
                                           reduction=reduction, label_smoothing=smoothing)
                    loss.backward()
                    ce["cases"].append({"reduction": reduction, "labelSmoothing": smoothing, "target": kind,
                                        "weighted": weighted, "loss": float(loss), "dlogits": f32(zt.grad)})
    rows, cols = 5, 4
    x, xs = gen(rows * cols, 610, 4.0)
    t = np.array([0.3 if i % 3 == 0 else float(i % 2) for i in range(rows * cols)], dtype=np.float32)
    w, wsb = gen(cols, 611, 0.5, 1.0)
    pw, pws = gen(cols, 612, 1.0, 2.0)
    bce = {"rows": rows, "cols": cols, "x": xs, "target": f32(t), "weight": wsb, "posWeight": pws, "cases": []}
    for reduction in ("mean", "sum"):
        for weighted in (False, True):
            xt = t64(x.reshape(rows, cols), True)
            loss = F.binary_cross_entropy_with_logits(xt, t64(t.reshape(rows, cols)), weight=t64(w) if weighted else None,
                                                      pos_weight=t64(pw) if weighted else None, reduction=reduction)
            loss.backward()
            bce["cases"].append({"reduction": reduction, "weighted": weighted, "loss": float(loss), "dx": f32(xt.grad)})
    # Differences that hit every kink exactly: 0, ±0.75 (Huber's δ), ±0.5 (SmoothL1's β), and others.
    tgt = np.array([0.25, -1.0, 2.0, 0.5, 0.5, -0.5, 1.5, 3.0, -2.0, 0.0, 0.125, 1.0, -0.75], dtype=np.float32)
    d = np.array([0.0, 0.75, -0.75, 0.5, -0.5, 1.25, -3.0, 0.2, -0.1, 2.5, 0.0, -1.5, 0.6], dtype=np.float32)
    xr = (tgt + d).astype(np.float32)
    reg = {"x": f32(xr), "target": f32(tgt), "cases": []}
    for name, params, f in [("mse", {}, F.mse_loss), ("l1", {}, F.l1_loss),
                            ("huber", {"delta": 0.75}, lambda a, b, reduction: F.huber_loss(a, b, reduction=reduction, delta=0.75)),
                            ("smooth_l1", {"beta": 0.5}, lambda a, b, reduction: F.smooth_l1_loss(a, b, reduction=reduction, beta=0.5)),
                            ("smooth_l1", {"beta": 0.0}, lambda a, b, reduction: F.smooth_l1_loss(a, b, reduction=reduction, beta=0.0))]:
        for reduction in ("mean", "sum"):
            # The kink cases need x − t exact: computed from the float32 values in float64.
            xt = torch.tensor(xr.astype(np.float64), requires_grad=True)
            loss = f(xt, t64(tgt), reduction=reduction)
            loss.backward()
            reg["cases"].append({"kind": name, **params, "reduction": reduction, "loss": float(loss), "dx": f32(xt.grad)})
    return {"crossEntropy": ce, "bce": bce, "regression": reg}


def gate_case():
    n, c, h, w = 2, 3, 4, 5
    x, xs = gen(n * c * h * w, 700)
    s, ss = gen(n * c, 701, 1.0, 0.5)
    dy, dys = gen(n * c * h * w, 702)
    xt, st = t64(x.reshape(n, c, h, w), True), t64(s.reshape(n, c), True)
    (xt * st[:, :, None, None]).backward(t64(dy.reshape(n, c, h, w)))
    return {"n": n, "c": c, "inner": h * w, "x": xs, "s": ss, "dy": dys, "dx": f32(xt.grad), "ds": f32(st.grad)}


def main():
    import sys
    if len(sys.argv) == 3 and sys.argv[1] == "--dense":
        # Not committed: torch's activations over 10,001 points of [-20, 20] plus the special values, for
        # the ignored dense test in crates/core/tests/activation_sweep.rs.
        grid = np.concatenate([np.array([-20 + 40 * i / 10000 for i in range(10001)], dtype=np.float32), activation_grid()[77:]])
        with open(sys.argv[2], "w") as f:
            json.dump({"activations": activation_cases(grid)}, f, separators=(",", ":"))
        print(f"wrote {sys.argv[2]}")
        return
    golden = {
        "data": {"seed": 1, "first": f32(data(4, 1))},
        "batchnorm": batchnorm_cases(),
        "batchnormSteps20": batchnorm_steps(),
        "batchnormLarge": batchnorm_large(),
        "layernorm": layernorm_cases(),
        "groupnorm": groupnorm_cases(),
        "activations": activation_cases(),
        "losses": loss_cases(),
        "gate": gate_case(),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "norm_act_loss.json")
    with open(path, "w") as f:
        json.dump(golden, f, separators=(",", ":"))
    print(f"wrote {path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
