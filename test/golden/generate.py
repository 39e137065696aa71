#!/usr/bin/python3
"""Golden-vector generator for wasmcnn, using PyTorch as the reference.

Writes five files next to this script:

  optim.json   Optimizer trajectories (Adagrad, RMSprop, Adam) produced by
               torch.optim in float32 with the single-tensor (foreach=False)
               code path.  Each case stores the initial parameters, the
               gradient fed in before every step, and the parameters after
               every step, so a test can replay the recorded gradients
               without recomputing any loss.
  optim_extra.json
               More optimizer trajectories, same case format plus a
               "reference" field: "torch" cases come from torch.optim
               (foreach=False) for every option of Adagrad, RMSprop, Adam,
               AdamW, SGD, Adamax and Adadelta (maximize, weight decay,
               amsgrad, centered, momentum, nesterov, dampening, lr_decay,
               initial_accumulator_value); "numpy-f64" cases come from an
               independent float64 numpy implementation of the published
               formulas where torch 1.13 has none: epsilon inside the root
               (Keras / tfjs-core conventions, and Adam's sqrt(v_hat + eps)),
               RMSprop with lr inside the momentum buffer (Keras / tfjs),
               Adafactor (HuggingFace / fairseq) and Lookahead.  The numpy
               reference is fed the same float32 gradients, keeps its state in
               float64 and rounds the parameters to float32 after every step
               (the stored trajectory); in the modes torch also has, it is
               checked here against torch before anything is written.
               Adafactor cases carry "shape": [rows, cols] (factored second
               moments) or null (a vector).
  schedules.json
               torch.optim.lr_scheduler values over 60 epochs: each case has
               the scheduler's class, its constructor arguments (camelCase),
               the base lr, and "lr": the learning rate in effect during
               epochs 0..59 (scheduler.step() is called after each epoch;
               ReduceLROnPlateau gets "metrics"[e] after epoch e; OneCycleLR
               with cycle_momentum also records "momentum").  Plain float64
               numbers.
  clip.json    torch.nn.utils.clip_grad_norm_ (norm type 2) and
               clip_grad_value_ over several float32 gradient tensors:
               inputs, the returned total norm, and the clipped gradients.
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
# SequentialLR steps its second scheduler with an explicit epoch at the milestone
# (torch 1.13's own code path); the deprecation warning is about user calls.
warnings.filterwarnings("ignore", message="The epoch parameter in")
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
    N, N_BIG, STEPS = 37, 1031, 60
    # Every option combination runs >= 50 steps at n=37.  The n=1031 cases
    # (1031 = 4*257 + 3: SIMD body + tail on a longer buffer) repeat the
    # defaults with fewer steps to keep the file size reasonable.
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


# ---------------------------------------------------------------------------
# More optimizers and options (optim_extra.json)
# ---------------------------------------------------------------------------

EXTRA_DEFAULTS = {
    "adagrad": dict(lr=1e-2, lrDecay=0.0, weightDecay=0.0,
                    initialAccumulatorValue=0.0, eps=1e-10, maximize=False,
                    epsMode="outside"),
    "rmsprop": dict(lr=1e-2, alpha=0.99, eps=1e-8, weightDecay=0.0,
                    momentum=0.0, centered=False, maximize=False,
                    epsMode="outside", lrInMomentum=False),
    "adam": dict(lr=1e-3, betas=[0.9, 0.999], eps=1e-8, weightDecay=0.0,
                 amsgrad=False, maximize=False, epsMode="outside"),
    "adamw": dict(lr=1e-3, betas=[0.9, 0.999], eps=1e-8, weightDecay=1e-2,
                  amsgrad=False, maximize=False, epsMode="outside"),
    "sgd": dict(lr=1e-2, momentum=0.0, dampening=0.0, nesterov=False,
                weightDecay=0.0, maximize=False),
    "adamax": dict(lr=2e-3, betas=[0.9, 0.999], eps=1e-8, weightDecay=0.0,
                   maximize=False),
    "adadelta": dict(lr=1.0, rho=0.9, eps=1e-6, weightDecay=0.0,
                     maximize=False),
    # HuggingFace transformers.optimization.Adafactor's defaults; lr null
    # means the relative step.
    "adafactor": dict(lr=None, eps=[1e-30, 1e-3], clipThreshold=1.0,
                      decayRate=-0.8, beta1=None, weightDecay=0.0,
                      scaleParameter=True, relativeStep=True,
                      warmupInit=False, maximize=False),
    # Lookahead around an inner optimizer (its kind and full options).
    "lookahead": dict(k=5, alpha=0.5, inner="sgd", innerOptions=None),
}


def extra_options(kind, overrides):
    options = dict(EXTRA_DEFAULTS[kind])
    for k in overrides:
        assert k in options, (kind, k)
    options.update(overrides)
    if kind == "lookahead":
        options["innerOptions"] = extra_options(options["inner"],
                                                options["innerOptions"] or {})
    return options


def make_torch_optimizer(kind, params, o):
    assert o.get("epsMode", "outside") == "outside"
    assert not o.get("lrInMomentum", False)
    mx = o["maximize"]
    if kind == "adagrad":
        return torch.optim.Adagrad(
            params, lr=o["lr"], lr_decay=o["lrDecay"],
            weight_decay=o["weightDecay"],
            initial_accumulator_value=o["initialAccumulatorValue"],
            eps=o["eps"], foreach=False, maximize=mx)
    if kind == "rmsprop":
        return torch.optim.RMSprop(
            params, lr=o["lr"], alpha=o["alpha"], eps=o["eps"],
            weight_decay=o["weightDecay"], momentum=o["momentum"],
            centered=o["centered"], foreach=False, maximize=mx)
    if kind in ("adam", "adamw"):
        cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
        return cls(params, lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"],
                   weight_decay=o["weightDecay"], amsgrad=o["amsgrad"],
                   foreach=False, maximize=mx)
    if kind == "sgd":
        return torch.optim.SGD(
            params, lr=o["lr"], momentum=o["momentum"],
            dampening=o["dampening"], nesterov=o["nesterov"],
            weight_decay=o["weightDecay"], foreach=False, maximize=mx)
    if kind == "adamax":
        return torch.optim.Adamax(
            params, lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"],
            weight_decay=o["weightDecay"], foreach=False, maximize=mx)
    if kind == "adadelta":
        return torch.optim.Adadelta(
            params, lr=o["lr"], rho=o["rho"], eps=o["eps"],
            weight_decay=o["weightDecay"], foreach=False, maximize=mx)
    raise ValueError(kind)


# The float64 reference: one class per optimizer, written from the papers /
# the Keras, tfjs-core and HuggingFace formulas (not from torch.optim), with
# state in float64.  step(t, p, g) takes float64 arrays holding float32
# values and returns the new parameters in float64.

class RefAdagrad:
    # Duchi et al.; Keras/tfjs: p -= lr * g / sqrt(s + eps).
    def __init__(self, o, n, shape):
        self.o = o
        self.s = np.full(n, o["initialAccumulatorValue"], dtype=np.float64)

    def step(self, t, p, g):
        o = self.o
        g = -g if o["maximize"] else g
        g = g + o["weightDecay"] * p
        lr = o["lr"] / (1 + (t - 1) * o["lrDecay"])
        self.s = self.s + g * g
        if o["epsMode"] == "inside":
            d = np.sqrt(self.s + o["eps"])
        else:
            d = np.sqrt(self.s) + o["eps"]
        return p - lr * g / d


class RefRmsprop:
    # Hinton's RMSprop; Keras/TF: ms - mg^2 + eps under the root when
    # centered, momentum buffer mom = mu*mom + lr*g/denom, p -= mom.
    def __init__(self, o, n, shape):
        self.o = o
        self.v = np.zeros(n)
        self.mg = np.zeros(n)
        self.buf = np.zeros(n)

    def step(self, t, p, g):
        o = self.o
        a = o["alpha"]
        g = -g if o["maximize"] else g
        g = g + o["weightDecay"] * p
        self.v = a * self.v + (1 - a) * g * g
        x = self.v
        if o["centered"]:
            self.mg = a * self.mg + (1 - a) * g
            x = self.v - self.mg * self.mg
        if o["epsMode"] == "inside":
            d = np.sqrt(x + o["eps"])
        else:
            d = np.sqrt(x) + o["eps"]
        if o["momentum"] > 0:
            if o["lrInMomentum"]:
                self.buf = o["momentum"] * self.buf + o["lr"] * g / d
                return p - self.buf
            self.buf = o["momentum"] * self.buf + g / d
            return p - o["lr"] * self.buf
        return p - o["lr"] * g / d


class RefAdam:
    # Kingma & Ba with bias correction; AMSGrad (Reddi et al.) keeps the
    # running max of v; AdamW (Loshchilov & Hutter) decays p by lr*wd first.
    # eps inside: lr * m_hat / sqrt(v_hat + eps).
    def __init__(self, o, n, shape, decoupled=False):
        self.o, self.decoupled = o, decoupled
        self.m = np.zeros(n)
        self.v = np.zeros(n)
        self.vmax = np.zeros(n)

    def step(self, t, p, g):
        o = self.o
        b1, b2 = o["betas"]
        g = -g if o["maximize"] else g
        if self.decoupled:
            p = p * (1 - o["lr"] * o["weightDecay"])
        else:
            g = g + o["weightDecay"] * p
        self.m = b1 * self.m + (1 - b1) * g
        self.v = b2 * self.v + (1 - b2) * g * g
        v = self.v
        if o["amsgrad"]:
            self.vmax = np.maximum(self.vmax, self.v)
            v = self.vmax
        m_hat = self.m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        if o["epsMode"] == "inside":
            return p - o["lr"] * m_hat / np.sqrt(v_hat + o["eps"])
        return p - o["lr"] * m_hat / (np.sqrt(v_hat) + o["eps"])


class RefAdamW(RefAdam):
    def __init__(self, o, n, shape):
        super().__init__(o, n, shape, decoupled=True)


class RefSgd:
    # Polyak / Nesterov momentum as torch.optim.SGD documents it: the buffer
    # starts as the first gradient.
    def __init__(self, o, n, shape):
        self.o = o
        self.buf = None

    def step(self, t, p, g):
        o = self.o
        g = -g if o["maximize"] else g
        g = g + o["weightDecay"] * p
        if o["momentum"] != 0:
            if self.buf is None:
                self.buf = g.copy()
            else:
                self.buf = (o["momentum"] * self.buf
                            + (1 - o["dampening"]) * g)
            g = g + o["momentum"] * self.buf if o["nesterov"] else self.buf
        return p - o["lr"] * g


class RefAdafactor:
    # Shazeer & Stern 2018 as HuggingFace/fairseq compute it: relative step
    # min(1e-2, 1/sqrt(t)) (warmup_init: min(1e-6 t, 1/sqrt(t))) scaled by
    # max(eps2, RMS(p)); beta2_t = 1 - t^decay_rate; factored second moments
    # R (row means) and C (column means) of g^2 + eps1, v_hat = R C / mean(R);
    # u = g / sqrt(v_hat) clipped to RMS(u) <= d; optional first moment of
    # the clipped, scaled update; p -= wd*lr*p; p -= u.
    def __init__(self, o, n, shape):
        self.o, self.shape = o, shape
        if shape is not None:
            self.r = np.zeros(shape[0])
            self.c = np.zeros(shape[1])
        else:
            self.v = np.zeros(n)
        self.m = np.zeros(n)

    def step(self, t, p, g):
        o = self.o
        eps1, eps2 = o["eps"]
        g = -g if o["maximize"] else g
        if o["relativeStep"]:
            min_step = 1e-6 * t if o["warmupInit"] else 1e-2
            lr = min(min_step, 1.0 / math.sqrt(t))
        else:
            lr = o["lr"]
        if o["scaleParameter"]:
            lr *= max(eps2, math.sqrt(np.mean(p * p)))
        b2t = 1.0 - t ** o["decayRate"]
        g2 = g * g + eps1
        if self.shape is not None:
            rows, cols = self.shape
            g2m = g2.reshape(rows, cols)
            self.r = b2t * self.r + (1 - b2t) * g2m.mean(axis=1)
            self.c = b2t * self.c + (1 - b2t) * g2m.mean(axis=0)
            v_hat = np.outer(self.r / self.r.mean(), self.c).reshape(-1)
        else:
            self.v = b2t * self.v + (1 - b2t) * g2
            v_hat = self.v
        u = g / np.sqrt(v_hat)
        u = u / max(1.0, math.sqrt(np.mean(u * u)) / o["clipThreshold"])
        u = u * lr
        if o["beta1"] is not None:
            self.m = o["beta1"] * self.m + (1 - o["beta1"]) * u
            u = self.m
        p = p - o["weightDecay"] * lr * p
        return p - u


REFS = {"adagrad": RefAdagrad, "rmsprop": RefRmsprop, "adam": RefAdam,
        "adamw": RefAdamW, "sgd": RefSgd, "adafactor": RefAdafactor}


def f32_round(x):
    return np.asarray(x, dtype=np.float64).astype(np.float32).astype(np.float64)


def extra_case(name, kind, overrides, n, steps, seed, reference,
               shape=None):
    """One trajectory; reference "torch" (torch.optim) or "numpy-f64"."""
    options = extra_options(kind, overrides)
    if shape is not None:
        assert kind == "adafactor" and shape[0] * shape[1] == n
    gen = torch.Generator().manual_seed(seed)
    loss = ToyLoss(n, gen)
    p = (torch.rand(n, generator=gen) * 2 - 1).float()
    params0 = p.clone()
    grads, traj = [], []
    if reference == "torch":
        p.requires_grad_(True)
        opt = make_torch_optimizer(kind, [p], options)
        for _ in range(steps):
            g = loss.grad(p)
            grads.append(g)
            p.grad = g.clone()
            opt.step()
            traj.append(p.detach().clone())
    else:
        assert reference == "numpy-f64"
        if kind == "lookahead":
            inner = REFS[options["inner"]](options["innerOptions"], n, None)
            slow = p.double().numpy().copy()
        else:
            inner = REFS[kind](options, n, shape)
        x = p.double().numpy().copy()
        for t in range(1, steps + 1):
            g = loss.grad(torch.from_numpy(x.astype(np.float32)))
            grads.append(g)
            x = f32_round(inner.step(t, x, g.double().numpy()))
            if kind == "lookahead" and t % options["k"] == 0:
                # Zhang et al. 2019: slow += alpha (fast - slow); fast = slow
                slow = slow + options["alpha"] * (x - slow)
                x = f32_round(slow)
            traj.append(torch.from_numpy(x.astype(np.float32)))
    case = {"name": name, "optimizer": kind, "reference": reference,
            "options": options, "n": n, "steps": steps}
    if kind == "adafactor":
        case["shape"] = list(shape) if shape is not None else None
    case.update({"params0": f32(params0), "grads": [f32(g) for g in grads],
                 "params": [f32(q) for q in traj]})
    return case, torch.stack(traj).double().numpy(), params0.double().numpy()


def check_reference_against_torch(kind, overrides, n, steps, seed):
    """The numpy reference must reproduce torch where torch has the mode."""
    _, want, p0 = extra_case("check", kind, overrides, n, steps, seed, "torch")
    _, got, _ = extra_case("check", kind, overrides, n, steps, seed,
                           "numpy-f64")
    scale = np.maximum(np.maximum(np.abs(want), np.abs(p0)), 1e-2)
    err = float(np.max(np.abs(got - want) / scale))
    assert err <= 1e-5, (kind, overrides, err)


def build_optim_extra():
    N, STEPS = 37, 50
    torch_specs = [
        ("adagrad_maximize", "adagrad", dict(maximize=True, lr=0.05)),
        ("adagrad_lrdecay_wd_initacc_maximize", "adagrad",
         dict(lr=0.1, lrDecay=0.05, weightDecay=0.1,
              initialAccumulatorValue=0.5, maximize=True)),
        ("adagrad_initacc_eps", "adagrad",
         dict(lr=0.1, initialAccumulatorValue=0.1, eps=1e-6)),
        ("rmsprop_maximize_wd", "rmsprop",
         dict(maximize=True, weightDecay=0.05)),
        ("rmsprop_momentum_alpha", "rmsprop",
         dict(momentum=0.5, alpha=0.9, lr=0.005)),
        ("rmsprop_centered_momentum_maximize", "rmsprop",
         dict(centered=True, momentum=0.9, maximize=True, lr=0.003)),
        ("adam_maximize", "adam", dict(maximize=True, lr=0.01)),
        ("adam_amsgrad_wd_maximize", "adam",
         dict(amsgrad=True, weightDecay=0.1, maximize=True, lr=0.02)),
        ("adamw_lr0.01_wd0.1", "adamw", dict(lr=0.01, weightDecay=0.1)),
        ("adamw_amsgrad", "adamw", dict(lr=0.01, amsgrad=True)),
        ("adamw_amsgrad_maximize_betas", "adamw",
         dict(lr=0.02, amsgrad=True, maximize=True, betas=[0.8, 0.95],
              weightDecay=0.3)),
        ("sgd_plain_wd", "sgd", dict(lr=0.1, weightDecay=0.05)),
        ("sgd_momentum", "sgd", dict(lr=0.05, momentum=0.9)),
        ("sgd_momentum_dampening", "sgd",
         dict(lr=0.05, momentum=0.9, dampening=0.3)),
        ("sgd_nesterov_wd", "sgd",
         dict(lr=0.05, momentum=0.9, nesterov=True, weightDecay=0.01)),
        ("sgd_momentum_maximize", "sgd",
         dict(lr=0.02, momentum=0.8, dampening=0.1, maximize=True)),
        ("adamax_defaults", "adamax", {}),
        ("adamax_wd_maximize_betas", "adamax",
         dict(lr=0.01, weightDecay=0.1, maximize=True, betas=[0.8, 0.99],
              eps=1e-6)),
        ("adadelta_defaults", "adadelta", {}),
        ("adadelta_wd_maximize_rho", "adadelta",
         dict(lr=0.5, rho=0.95, weightDecay=0.1, maximize=True, eps=1e-5)),
    ]
    numpy_specs = [
        # Keras / tfjs-core conventions (tfjs defaults: Adagrad initial
        # accumulator 0.1, RMSprop decay 0.9, epsilon 1e-7).
        ("adagrad_keras_eps_inside", "adagrad",
         dict(lr=0.1, initialAccumulatorValue=0.1, eps=1e-7,
              epsMode="inside")),
        ("adagrad_eps_inside_lrdecay_wd_maximize", "adagrad",
         dict(lr=0.1, lrDecay=0.02, weightDecay=0.1, eps=1e-3,
              epsMode="inside", maximize=True)),
        ("rmsprop_keras", "rmsprop",
         dict(lr=0.005, alpha=0.9, eps=1e-7, epsMode="inside",
              lrInMomentum=True)),
        ("rmsprop_keras_momentum", "rmsprop",
         dict(lr=0.002, alpha=0.9, eps=1e-7, momentum=0.9, epsMode="inside",
              lrInMomentum=True)),
        ("rmsprop_keras_centered_momentum", "rmsprop",
         dict(lr=0.002, alpha=0.9, eps=1e-7, momentum=0.9, centered=True,
              epsMode="inside", lrInMomentum=True)),
        ("rmsprop_eps_inside_torch_momentum_wd_maximize", "rmsprop",
         dict(lr=0.003, momentum=0.5, eps=1e-4, weightDecay=0.05,
              maximize=True, epsMode="inside")),
        ("rmsprop_lr_in_momentum_eps_outside", "rmsprop",
         dict(lr=0.002, momentum=0.9, centered=True, lrInMomentum=True)),
        ("adam_eps_inside", "adam", dict(lr=0.01, eps=1e-6, epsMode="inside")),
        ("adam_eps_inside_amsgrad_wd_maximize", "adam",
         dict(lr=0.01, eps=1e-4, amsgrad=True, weightDecay=0.05,
              maximize=True, epsMode="inside")),
        ("adamw_eps_inside", "adamw",
         dict(lr=0.01, eps=1e-5, weightDecay=0.1, epsMode="inside")),
        # Adafactor: factored 3 x 13 and 6 x 70 (a column block boundary at
        # 64), vectors of 37.
        ("adafactor_factored_defaults", "adafactor", {}, (3, 13)),
        ("adafactor_vector_defaults", "adafactor", {}, None),
        ("adafactor_factored_lr_beta1_wd", "adafactor",
         dict(lr=0.01, relativeStep=False, scaleParameter=False, beta1=0.9,
              weightDecay=0.01), (3, 13)),
        ("adafactor_factored_6x70_clip0.5_maximize", "adafactor",
         dict(clipThreshold=0.5, maximize=True), (6, 70)),
        ("adafactor_vector_warmup_beta1_decay", "adafactor",
         dict(warmupInit=True, beta1=0.8, decayRate=-0.5), None),
        ("adafactor_vector_lr_beta1_decay0.5_wd_noscale", "adafactor",
         dict(lr=0.02, relativeStep=False, scaleParameter=False, beta1=0.5,
              decayRate=-0.5, weightDecay=0.05), None),
        # Lookahead around SGD with momentum and around Adam.
        ("lookahead_sgd_momentum_k5", "lookahead",
         dict(k=5, alpha=0.5, inner="sgd",
              innerOptions=dict(lr=0.05, momentum=0.9))),
        ("lookahead_adam_k6_alpha0.8", "lookahead",
         dict(k=6, alpha=0.8, inner="adam", innerOptions=dict(lr=0.02))),
    ]
    # The numpy reference against torch, in modes both have.
    for i, (kind, ov) in enumerate([
            ("adagrad", dict(lr=0.1, lrDecay=0.05, weightDecay=0.1,
                             initialAccumulatorValue=0.5, maximize=True)),
            ("rmsprop", dict(centered=True, momentum=0.9, maximize=True,
                             weightDecay=0.01, lr=0.003)),
            ("adam", dict(amsgrad=True, weightDecay=0.1, lr=0.02)),
            ("adamw", dict(amsgrad=True, lr=0.02, maximize=True)),
            ("sgd", dict(lr=0.05, momentum=0.9, nesterov=True,
                         weightDecay=0.01))]):
        check_reference_against_torch(kind, ov, N, STEPS, SEED + 300 + i)

    cases = []
    for i, (name, kind, ov) in enumerate(torch_specs):
        cases.append(extra_case(name, kind, ov, N, STEPS, SEED + 200 + i,
                                "torch")[0])
    for i, spec in enumerate(numpy_specs):
        name, kind, ov = spec[:3]
        shape = spec[3] if len(spec) > 3 else None
        n = shape[0] * shape[1] if shape is not None else N
        steps = STEPS
        cases.append(extra_case(name, kind, ov, n, steps, SEED + 400 + i,
                                "numpy-f64", shape)[0])
    return {"generator": GENERATOR, "torch": torch.__version__,
            "numpy": np.__version__, "cases": cases}


# ---------------------------------------------------------------------------
# Learning-rate schedules (schedules.json)
# ---------------------------------------------------------------------------

def schedule_case(name, make, base_lr, args, epochs=60, metrics=None,
                  momentum=None):
    """lr in effect during each epoch, scheduler.step() after each epoch."""
    p = torch.zeros(1, requires_grad=True)
    if momentum is None:
        opt = torch.optim.SGD([p], lr=base_lr)
    else:
        opt = torch.optim.SGD([p], lr=base_lr, momentum=momentum)
    sched = make(opt)
    lrs, moms = [], []
    for e in range(epochs):
        lrs.append(float(opt.param_groups[0]["lr"]))
        moms.append(float(opt.param_groups[0].get("momentum", 0.0)))
        if e == epochs - 1:
            break
        opt.step()  # no gradient: a no-op, keeps the call order torch expects
        if metrics is not None:
            sched.step(metrics[e])
        else:
            sched.step()
    case = {"name": name, "scheduler": type(sched).__name__,
            "baseLr": base_lr, "args": args, "epochs": epochs}
    if metrics is not None:
        case["metrics"] = [float(m) for m in metrics[:epochs]]
    case["lr"] = lrs
    if momentum is not None:
        case["momentum"] = moms
    return case


def build_schedules():
    S = torch.optim.lr_scheduler
    cases = [
        schedule_case("step_lr", lambda o: S.StepLR(o, step_size=10, gamma=0.5),
                      0.1, dict(stepSize=10, gamma=0.5)),
        schedule_case("multistep_lr",
                      lambda o: S.MultiStepLR(o, milestones=[15, 30, 45],
                                              gamma=0.1),
                      0.1, dict(milestones=[15, 30, 45], gamma=0.1)),
        schedule_case("exponential_lr",
                      lambda o: S.ExponentialLR(o, gamma=0.95),
                      0.05, dict(gamma=0.95)),
        schedule_case("cosine_annealing_lr",
                      lambda o: S.CosineAnnealingLR(o, T_max=60,
                                                    eta_min=1e-4),
                      0.1, dict(tMax=60, etaMin=1e-4)),
        schedule_case("cosine_annealing_lr_tmax20_past_tmax",
                      lambda o: S.CosineAnnealingLR(o, T_max=20, eta_min=0.0),
                      0.1, dict(tMax=20, etaMin=0.0)),
        schedule_case(
            "warmup_linear5_cosine55",
            lambda o: S.SequentialLR(o, schedulers=[
                S.LinearLR(o, start_factor=0.1, end_factor=1.0,
                           total_iters=5),
                S.CosineAnnealingLR(o, T_max=55, eta_min=1e-4)],
                milestones=[5]),
            0.1, dict(schedulers=[
                dict(scheduler="LinearLR", startFactor=0.1, endFactor=1.0,
                     totalIters=5),
                dict(scheduler="CosineAnnealingLR", tMax=55, etaMin=1e-4)],
                milestones=[5])),
        schedule_case(
            "one_cycle_cos",
            lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=60,
                                   pct_start=0.3, anneal_strategy="cos",
                                   div_factor=25.0, final_div_factor=1e4,
                                   three_phase=False, cycle_momentum=True,
                                   base_momentum=0.85, max_momentum=0.95),
            0.1, dict(maxLr=0.1, totalSteps=60, pctStart=0.3,
                      annealStrategy="cos", divFactor=25.0,
                      finalDivFactor=1e4, threePhase=False,
                      cycleMomentum=True, baseMomentum=0.85,
                      maxMomentum=0.95),
            momentum=0.9),
        schedule_case(
            "one_cycle_linear",
            lambda o: S.OneCycleLR(o, max_lr=0.05, total_steps=60,
                                   pct_start=0.25, anneal_strategy="linear",
                                   div_factor=10.0, final_div_factor=100.0,
                                   three_phase=False, cycle_momentum=False),
            0.05, dict(maxLr=0.05, totalSteps=60, pctStart=0.25,
                       annealStrategy="linear", divFactor=10.0,
                       finalDivFactor=100.0, threePhase=False,
                       cycleMomentum=False)),
    ]
    # A loss curve that improves, stalls (with small wiggles under the
    # relative threshold), improves again, then plateaus for good.
    metrics = ([round(1.0 * 0.9 ** e, 6) for e in range(12)]
               + [round(0.30 + 0.002 * ((-1) ** e), 6) for e in range(10)]
               + [round(0.29 - 0.01 * e, 6) for e in range(8)]
               + [round(0.22 + 0.001 * (e % 3), 6) for e in range(30)])
    assert len(metrics) == 60
    cases.append(schedule_case(
        "reduce_on_plateau_min",
        lambda o: S.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=3,
                                      threshold=1e-2, threshold_mode="rel",
                                      cooldown=2, min_lr=1e-3, eps=1e-8),
        0.01, dict(mode="min", factor=0.5, patience=3, threshold=1e-2,
                  thresholdMode="rel", cooldown=2, minLr=1e-3, eps=1e-8),
        metrics=metrics))
    return {"generator": GENERATOR, "torch": torch.__version__,
            "cases": cases}


# ---------------------------------------------------------------------------
# Gradient clipping (clip.json)
# ---------------------------------------------------------------------------

def build_clip():
    gen = torch.Generator().manual_seed(SEED + 500)
    sizes = [37, 5, 130, 1]

    def grads(scale):
        return [(torch.randn(s, generator=gen) * scale).float()
                for s in sizes]

    norm_cases = []
    for name, scale, max_norm in [("below_threshold", 0.05, 5.0),
                                  ("above_threshold", 1.0, 1.0),
                                  ("far_above_threshold", 30.0, 0.5)]:
        gs = grads(scale)
        ps = [torch.zeros(s, requires_grad=True) for s in sizes]
        for p, g in zip(ps, gs):
            p.grad = g.clone()
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type=2.0)
        norm_cases.append({
            "name": name, "maxNorm": max_norm, "normType": 2.0,
            "sizes": sizes, "grads": [f32(g) for g in gs],
            "totalNorm": f32(float(total)), "clipped": [f32(p.grad) for p in ps]})
    value_cases = []
    for name, scale, clip in [("value_0.1", 0.2, 0.1), ("value_2", 1.0, 2.0)]:
        gs = grads(scale)
        ps = [torch.zeros(s, requires_grad=True) for s in sizes]
        for p, g in zip(ps, gs):
            p.grad = g.clone()
        torch.nn.utils.clip_grad_value_(ps, clip)
        value_cases.append({
            "name": name, "clipValue": clip, "sizes": sizes,
            "grads": [f32(g) for g in gs],
            "clipped": [f32(p.grad) for p in ps]})
    return {"generator": GENERATOR, "torch": torch.__version__,
            "clipGradNorm": norm_cases, "clipGradValue": value_cases}


def main():
    torch.manual_seed(SEED)
    write("optim.json", build_optim())
    write("layers.json", build_layers())
    write("optim_extra.json", build_optim_extra())
    write("schedules.json", build_schedules())
    write("clip.json", build_clip())


if __name__ == "__main__":
    main()
