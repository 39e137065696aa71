#!/usr/bin/python3
"""Golden-vector generator for wasmcnn, using PyTorch as the reference.

Writes two files next to this script:

  optim.json   Optimizer trajectories (Adagrad, RMSprop, Adam) produced by
               torch.optim in float32 with the single-tensor (foreach=False)
               code path.  Each case stores the initial parameters, the
               gradient fed in before every step, and the parameters after
               every step, so a test can replay the recorded gradients
               without recomputing any loss.
  layers.json  Forward/backward references for conv2d, maxpool2d, linear and
               softmax+cross-entropy (mean over the batch, like
               F.cross_entropy's default).  Inputs are drawn as float32, the
               computation runs in float64 (inputs .double()), and outputs are
               rounded to float32.

Number format: every stored number is a float32 value.  It is written as the
shortest decimal string that float32-round-trips (numpy's float32 repr),
which keeps the files small.  Read it in JS with Math.fround(x) (or by
storing it into a Float32Array) to get the exact float32 value; the script
asserts, for every number, that decimal -> float64 -> float32 (what
JSON.parse + Math.fround does) gives back that value.  Pass --double-repr to
write the float64 repr of each float32 value instead (exact even without
Math.fround, but roughly twice as large).

Hyperparameters in "options" are written as plain decimals (e.g. 0.01), the
same Python floats given to torch.optim.

Rerun from the repository root (Debian's PyTorch; torch 1.13 was used):

    /usr/bin/python3 test/golden/generate.py

The output is deterministic (fixed seeds; CPU only).
"""

import json
import math
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as F

OUT_DIR = os.path.dirname(os.path.abspath(__file__))
GENERATOR = "test/golden/generate.py"
SEED = 20240601
DOUBLE_REPR = "--double-repr" in sys.argv[1:]

warnings.filterwarnings("ignore", message="Using padding='same'")
torch.set_num_threads(1)  # avoid any thread-count-dependent reduction order


# ---------------------------------------------------------------------------
# Compact JSON writer: float32 numbers, one case per line.
# ---------------------------------------------------------------------------

class F32:
    """Marks a number that must be written as a float32 value."""
    __slots__ = ("v",)

    def __init__(self, v):
        self.v = np.float32(v)


def f32(x):
    """Tensor / array / scalar -> (nested lists of) F32."""
    if isinstance(x, torch.Tensor):
        x = x.detach().float().cpu().numpy()
    if isinstance(x, np.ndarray):
        return [F32(v) for v in x.astype(np.float32).reshape(-1)]
    return F32(x)


def fmt_f32(v):
    v = np.float32(v)
    assert np.isfinite(v), "non-finite value in golden data"
    if DOUBLE_REPR:
        s = repr(float(v))
    else:
        s = str(v)  # shortest repr that round-trips as float32
        if np.float32(float(s)) != v:  # JSON.parse (double) + Math.fround
            s = repr(float(v))
    assert np.float32(float(s)) == v
    if DOUBLE_REPR:
        assert float(s) == float(v)
    return s


def dumps(obj, depth=0):
    if isinstance(obj, F32):
        return fmt_f32(obj.v)
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return json.dumps(obj)
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, float):  # hyperparameters: plain Python floats
        assert math.isfinite(obj)
        return repr(obj)
    if isinstance(obj, (list, tuple)):
        if depth <= 1 and obj and isinstance(obj[0], dict):
            # top-level list of cases: one case per line
            inner = ",\n".join(dumps(o, depth + 1) for o in obj)
            return "[\n" + inner + "\n]"
        return "[" + ",".join(dumps(o, depth + 1) for o in obj) + "]"
    if isinstance(obj, dict):
        sep = ",\n" if depth == 0 else ","
        body = sep.join(json.dumps(k) + ":" + dumps(v, depth + 1)
                        for k, v in obj.items())
        return ("{\n" + body + "\n}") if depth == 0 else ("{" + body + "}")
    raise TypeError(type(obj))


def write(name, obj):
    path = os.path.join(OUT_DIR, name)
    text = dumps(obj) + "\n"
    json.loads(text)  # must be valid JSON
    with open(path, "w") as fh:
        fh.write(text)
    print(f"wrote {path} ({len(text)} bytes)")


# ---------------------------------------------------------------------------
# Optimizers
# ---------------------------------------------------------------------------

class ToyLoss:
    """Separable loss  sum_i 0.5*c_i*(p_i - t_i)^2 + a_i*sin(w_i*p_i).

    grad_i = c_i*(p_i - t_i) + a_i*w_i*cos(w_i*p_i).  The curvatures c_i are
    log-uniform over [1e-3, 3], so gradient magnitudes range from ~1e-4 to
    a few units.  In the n=37 problem one coordinate has c=a=0, i.e. its
    gradient is exactly 0 at every step (exercises 0/(0+eps)).
    """

    def __init__(self, n, gen):
        u = lambda: torch.rand(n, generator=gen, dtype=torch.float64)
        self.c = torch.exp(math.log(1e-3) + u() * (math.log(3.0) - math.log(1e-3)))
        self.t = u() * 2 - 1
        self.a = 0.3 * self.c * u()
        self.w = 1 + 4 * u()
        if n < 100:
            self.c[5] = 0.0
            self.a[5] = 0.0

    def grad(self, p):
        p = p.detach().double()
        g = self.c * (p - self.t) + self.a * self.w * torch.cos(self.w * p)
        return g.float()


OPT_DEFAULTS = {
    "adagrad": dict(lr=1e-2, lrDecay=0.0, weightDecay=0.0,
                    initialAccumulatorValue=0.0, eps=1e-10),
    "rmsprop": dict(lr=1e-2, alpha=0.99, eps=1e-8, weightDecay=0.0,
                    momentum=0.0, centered=False),
    "adam": dict(lr=1e-3, betas=[0.9, 0.999], eps=1e-8, weightDecay=0.0,
                 amsgrad=False),
}


def make_optimizer(kind, params, o):
    if kind == "adagrad":
        return torch.optim.Adagrad(
            params, lr=o["lr"], lr_decay=o["lrDecay"],
            weight_decay=o["weightDecay"],
            initial_accumulator_value=o["initialAccumulatorValue"],
            eps=o["eps"], foreach=False)
    if kind == "rmsprop":
        return torch.optim.RMSprop(
            params, lr=o["lr"], alpha=o["alpha"], eps=o["eps"],
            weight_decay=o["weightDecay"], momentum=o["momentum"],
            centered=o["centered"], foreach=False)
    if kind == "adam":
        return torch.optim.Adam(
            params, lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"],
            weight_decay=o["weightDecay"], amsgrad=o["amsgrad"],
            foreach=False)
    raise ValueError(kind)


def optim_case(name, kind, overrides, n, steps, seed):
    options = dict(OPT_DEFAULTS[kind])
    for k in overrides:
        assert k in options, k
    options.update(overrides)

    gen = torch.Generator().manual_seed(seed)
    loss = ToyLoss(n, gen)
    p = (torch.rand(n, generator=gen) * 2 - 1).float().requires_grad_(True)
    params0 = p.detach().clone()
    opt = make_optimizer(kind, [p], options)

    grads, traj = [], []
    for _ in range(steps):
        g = loss.grad(p)
        grads.append(f32(g))
        p.grad = g.clone()
        opt.step()
        traj.append(f32(p))
    return {"name": name, "optimizer": kind, "options": options, "n": n,
            "steps": steps, "params0": f32(params0), "grads": grads,
            "params": traj}


def build_optim():
    N, N_BIG, STEPS = 37, 1031, 30
    # The n=1031 cases (1031 = 4*257 + 3, exercises SIMD body + tail) use
    # fewer steps to keep the file size reasonable.
    STEPS_BIG = 10
    specs = [
        ("adagrad_defaults", "adagrad", {}),
        ("adagrad_lrdecay_wd_initacc", "adagrad",
         dict(lr=0.05, lrDecay=0.01, weightDecay=0.1,
              initialAccumulatorValue=0.1)),
        ("rmsprop_defaults", "rmsprop", {}),
        ("rmsprop_momentum", "rmsprop", dict(momentum=0.9)),
        ("rmsprop_centered", "rmsprop", dict(centered=True)),
        ("rmsprop_centered_momentum_wd", "rmsprop",
         dict(centered=True, momentum=0.9, weightDecay=0.01)),
        ("adam_defaults", "adam", {}),
        ("adam_lr0.01_wd0.05", "adam", dict(lr=0.01, weightDecay=0.05)),
        ("adam_amsgrad", "adam", dict(amsgrad=True, lr=0.01)),
        ("adam_betas_eps", "adam", dict(betas=[0.5, 0.9], eps=1e-6)),
    ]
    cases = []
    for i, (name, kind, ov) in enumerate(specs):
        cases.append(optim_case(name, kind, ov, N, STEPS, SEED + i))
    for i, kind in enumerate(["adagrad", "rmsprop", "adam"]):
        cases.append(optim_case(f"{kind}_defaults_n{N_BIG}", kind, {},
                                N_BIG, STEPS_BIG, SEED + 100 + i))
    return {"generator": GENERATOR, "torch": torch.__version__,
            "cases": cases}


# ---------------------------------------------------------------------------
# Layers (float64 reference from float32 inputs)
# ---------------------------------------------------------------------------

def randn32(*shape):
    return torch.randn(*shape, dtype=torch.float32)


def conv_case(name, n, c, h, w, o, kh, kw, stride=(1, 1), padding=(0, 0),
              dilation=(1, 1), bias=True):
    x32 = randn32(n, c, h, w)
    w32 = randn32(o, c, kh, kw) * (1.0 / math.sqrt(c * kh * kw))
    b32 = randn32(o) * 0.1 if bias else None

    x = x32.double().requires_grad_(True)
    wt = w32.double().requires_grad_(True)
    b = b32.double().requires_grad_(True) if bias else None
    pad = padding if isinstance(padding, str) else tuple(padding)
    y = F.conv2d(x, wt, b, stride=tuple(stride), padding=pad,
                 dilation=tuple(dilation))
    dy32 = randn32(*y.shape)
    y.backward(dy32.double())

    return {"name": name, "n": n, "c": c, "h": h, "w": w, "o": o,
            "kh": kh, "kw": kw, "stride": list(stride),
            "padding": padding if isinstance(padding, str) else list(padding),
            "dilation": list(dilation), "bias": bias,
            "x": f32(x32), "weight": f32(w32),
            "b": f32(b32) if bias else None, "dy": f32(dy32),
            "y": f32(y), "outShape": list(y.shape),
            "dx": f32(x.grad), "dw": f32(wt.grad),
            "db": f32(b.grad) if bias else None}


def distinct_values(count):
    """count distinct float32 values (no ties for max pooling), shuffled."""
    perm = torch.randperm(count).double()
    vals = (perm - count / 2) / (count / 4) + 0.001 * torch.rand(count, dtype=torch.float64)
    v32 = vals.float()
    assert len(set(v32.tolist())) == count
    return v32


def maxpool_case(name, n, c, h, w, kernel, stride, padding):
    x32 = distinct_values(n * c * h * w).reshape(n, c, h, w)
    x = x32.double().requires_grad_(True)
    y = F.max_pool2d(x, tuple(kernel), tuple(stride), tuple(padding))
    dy32 = randn32(*y.shape)
    y.backward(dy32.double())
    return {"name": name, "n": n, "c": c, "h": h, "w": w,
            "kernel": list(kernel), "stride": list(stride),
            "padding": list(padding), "x": f32(x32), "dy": f32(dy32),
            "y": f32(y), "outShape": list(y.shape), "dx": f32(x.grad)}


def linear_case(name, batch, fin, fout):
    x32 = randn32(batch, fin)
    w32 = randn32(fout, fin) * (1.0 / math.sqrt(fin))
    b32 = randn32(fout) * 0.1
    x = x32.double().requires_grad_(True)
    wt = w32.double().requires_grad_(True)
    b = b32.double().requires_grad_(True)
    y = F.linear(x, wt, b)
    dy32 = randn32(batch, fout)
    y.backward(dy32.double())
    return {"name": name, "batch": batch, "in": fin, "out": fout,
            "x": f32(x32), "weight": f32(w32), "b": f32(b32),
            "dy": f32(dy32), "y": f32(y), "dx": f32(x.grad),
            "dw": f32(wt.grad), "db": f32(b.grad)}


def xent_case(name, batch, classes, scale):
    if scale == "large":
        # ~U(-80, 80), plus one logit per row in [89, 90]: exp() of it
        # overflows float32 (max ~exp(88.72)), so an implementation must
        # subtract the row max (log-sum-exp trick).
        logits32 = (torch.rand(batch, classes) * 160 - 80).float()
        for i in range(batch):
            logits32[i, (2 * i + 1) % classes] = 89 + torch.rand(()).item()
    else:
        logits32 = randn32(batch, classes) * scale
    labels = torch.randint(0, classes, (batch,))
    z = logits32.double().requires_grad_(True)
    loss = F.cross_entropy(z, labels)  # reduction='mean'
    loss.backward()
    return {"name": name, "batch": batch, "classes": classes,
            "logits": f32(logits32), "labels": [int(v) for v in labels],
            "loss": f32(loss.item()), "dlogits": f32(z.grad)}


def build_layers():
    torch.manual_seed(SEED)
    conv = [
        conv_case("basic_1x1x5x5_k3", 1, 1, 5, 5, 1, 3, 3, bias=False),
        conv_case("b2_c3_7x9_o5_k3_pad1_bias", 2, 3, 7, 9, 5, 3, 3,
                  padding=(1, 1)),
        conv_case("stride2_pad0", 2, 2, 8, 7, 3, 3, 3, stride=(2, 2)),
        conv_case("stride2x1_pad1x2", 1, 2, 7, 6, 3, 3, 3, stride=(2, 1),
                  padding=(1, 2)),
        conv_case("dilation2", 1, 2, 9, 8, 3, 3, 3, padding=(1, 1),
                  dilation=(2, 2)),
        conv_case("k5_valid", 2, 2, 9, 9, 3, 5, 5, padding="valid"),
        conv_case("k4_same_asym", 1, 2, 7, 6, 3, 4, 4, padding="same"),
        conv_case("k3_same_dil2", 1, 2, 8, 7, 3, 3, 3, padding="same",
                  dilation=(2, 2)),
        conv_case("k1x1", 2, 4, 5, 6, 3, 1, 1),
        conv_case("lenet_conv2_c8_o16_k5_12x12", 2, 8, 12, 12, 16, 5, 5),
        conv_case("odd_c3_o7_k3x2", 1, 3, 6, 5, 7, 3, 2, padding=(1, 0)),
    ]
    pool = [
        maxpool_case("k2s2_6x6", 2, 2, 6, 6, (2, 2), (2, 2), (0, 0)),
        maxpool_case("k2s2_odd_7x7_floor", 1, 3, 7, 7, (2, 2), (2, 2), (0, 0)),
        maxpool_case("k3s2_pad1", 1, 2, 7, 8, (3, 3), (2, 2), (1, 1)),
        maxpool_case("k2x3_s1x2", 1, 2, 5, 8, (2, 3), (1, 2), (0, 0)),
    ]
    linear = [
        linear_case("b3_in7_out5", 3, 7, 5),
        linear_case("b4_in256_out10", 4, 256, 10),
        linear_case("b1_in1_out1", 1, 1, 1),
    ]
    xent = [
        xent_case("b5_c10_small", 5, 10, 1.0),
        xent_case("b3_c4_large_logits", 3, 4, "large"),
        xent_case("b1_c2", 1, 2, 1.0),
    ]
    return {"generator": GENERATOR, "torch": torch.__version__,
            "conv2d": conv, "maxpool2d": pool, "linear": linear,
            "softmax_cross_entropy": xent}


def main():
    torch.manual_seed(SEED)
    write("optim.json", build_optim())
    write("layers.json", build_layers())


if __name__ == "__main__":
    main()
