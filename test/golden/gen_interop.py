"""PyTorch interop goldens for test/interop.test.ts: torchvision's resnet18 and mobilenet_v2 (and He et al.'s
ResNet-20) with weights from one seeded formula, saved by PyTorch as safetensors, and what PyTorch computes
with them: eval-mode logits, the train-mode loss and gradients of a batch, and the weights and BatchNorm
running statistics after one Adam step.

Big files are not committed. What is: each file's safetensors header exactly as PyTorch wrote it (the data
after it is the formula's, so the test rebuilds the very file PyTorch saved and checks its SHA-256), and
the outputs — logits in full, every tensor's gradient and post-step values as projections on a formula
vector (plus their norms), and the classifier's bias and the first BatchNorm's running statistics in full.

The formula (test/interop-weights.ts has its twin): for tensor `name`, element i, with fnv1a32(name) as the
base, a murmur3-style 32-bit finaliser of i·0x9E3779B1 + base gives u = (h >> 8)/2^23 − 1, exact in float32
in [−1, 1); every scale is a power of two, so float32 arithmetic gives the same bits in numpy and in JS.
  conv / linear weight   u · 2^−⌊⌊log2 fan_in⌋/2⌋ (≈ 1/√fan_in)   bias   the same / 4
  batchnorm weight       1 + u/4        bias  u/8        running_mean  u/8        running_var  1 + |u|/2
  num_batches_tracked    0
  the input batch        u (name 'input'), labels i mod classes
Run: .venv/bin/python test/golden/gen_interop.py   (Debian torch 1.13 + torchvision 0.14, safetensors)
"""
import copy
import hashlib
import json
import math
import os
import struct
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from gen_zoo import ResNetCifar  # noqa: E402

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(__file__), "interop")
M32 = 0xFFFFFFFF


def fnv1a(name):
    h = 0x811C9DC5
    for b in name.encode():
        h = ((h ^ b) * 0x01000193) & M32
    return h


def unit(name, n):
    """The formula's u for elements 0..n-1 of tensor `name` (uint32 arithmetic, as Math.imul in JS)."""
    i = np.arange(n, dtype=np.uint64)
    h = (i * np.uint64(0x9E3779B1) + np.uint64(fnv1a(name))) & np.uint64(M32)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & np.uint64(M32)
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & np.uint64(M32)
    h ^= h >> np.uint64(16)
    return ((h >> np.uint64(8)).astype(np.float64) / 2**23 - 1).astype(np.float32)


def pow2_scale(fan_in):
    """2^−⌊⌊log2 fan_in⌋ / 2⌋, about 1/√fan_in, from integer arithmetic only (no rounding rule to disagree on)."""
    return np.float32(2.0 ** -((fan_in.bit_length() - 1) // 2))


def value(name, shape, kind, fan_in):
    n = int(np.prod(shape)) if shape else 1
    u = unit(name, n)
    f = np.float32
    if kind == "weight":
        v = u * pow2_scale(fan_in)
    elif kind == "bias":
        v = u * (pow2_scale(fan_in) / f(4))
    elif kind == "bn.weight":
        v = f(1) + u / f(4)
    elif kind in ("bn.bias", "bn.running_mean"):
        v = u / f(8)
    elif kind == "bn.running_var":
        v = f(1) + np.abs(u) / f(2)
    else:
        raise ValueError(kind)
    return torch.from_numpy(v.astype(np.float32).reshape(shape))


def set_formula_weights(model):
    mods = dict(model.named_modules())
    sd = {}
    for name, t in model.state_dict().items():
        owner = mods[name.rsplit(".", 1)[0]]
        local = name.rsplit(".", 1)[1]
        if isinstance(owner, nn.BatchNorm2d):
            sd[name] = torch.zeros((), dtype=torch.int64) if local == "num_batches_tracked" else value(name, tuple(t.shape), "bn." + local, 0)
        else:
            fan_in = int(np.prod(t.shape[1:])) if local == "weight" else int(np.prod(owner.weight.shape[1:]))
            sd[name] = value(name, tuple(t.shape), local, fan_in)
    model.load_state_dict(sd, strict=True)
    return sd


def projections(tensors, exclude=None):
    """Per tensor: Σ t·r with r the formula vector of '<name>.proj', and the L2 norm (f64), over the elements
    not in exclude[name] ('all' drops the tensor)."""
    out = {}
    for k, t in tensors.items():
        v = t.detach().double().reshape(-1).clone()
        ex = (exclude or {}).get(k)
        if ex == "all":
            continue
        r = torch.from_numpy(unit(k + ".proj", v.numel()).astype(np.float64))
        if ex:
            v[torch.tensor(ex)] = 0
        out[k] = [float((v * r).sum()), float(v.norm())]
    return out


def train_grads(model, x, y):
    model.train()
    model.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    return loss, {k: p.grad.detach().clone() for k, p in model.named_parameters()}


# Gradients of tensors at most this fraction of the largest tensor's are structurally zero (a bias that a
# following train-mode BatchNorm cancels): float64 gives ~1e-14, any float32 implementation its rounding.
ZERO = 1e-6
# Gradient elements below this fraction of their tensor's RMS have a sign that float32 rounding can flip; Adam's
# first step is lr·sign(g) there, so those elements are checked against the step's bound (|Δ| ≤ lr) instead.
FLIP = 1e-4
# A batch is well-conditioned when float32 PyTorch stays this close to float64 (5× inside the test's 1e-4).
WELL = 2e-5


def adam_step(model, lr):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    opt.step()
    return model.state_dict()


def sensitive_elements(grads, zero):
    """Elements whose gradient float32 rounding can flip in sign (0 < |g| < FLIP·RMS, and all of a
    structurally zero tensor): Adam's first step there is ±lr either way."""
    out = {k: "all" for k in zero}
    for k, g in grads.items():
        if k in zero:
            continue
        a = g.reshape(-1).abs()
        # Exact zeros (a ReLU mask shared by every float32 run) step by 0 everywhere: not sensitive.
        idx = torch.nonzero((a > 0) & (a < FLIP * float(g.norm()) / math.sqrt(g.numel()))).reshape(-1).tolist()
        if idx:
            out[k] = idx
    return out


def rel_errors(got, want):
    """Per tensor: the larger of |Δnorm| and |Δdot| over the reference norm (the test's two checks)."""
    return {k: max(abs(got[k][1] - n), abs(got[k][0] - d)) / n for k, (d, n) in want.items() if n > 0}


def spread(model, x, y, lr, ref_grads, ref_after, sensitive):
    """float32 PyTorch's own noise on this batch: four float32 runs with the input moved by one ulp at random
    elements, each tensor's worst error against float64 (gradients, and weights after one Adam step), and how
    many gradient elements outside `sensitive` changed sign. On a batch with a pre-activation within float32
    noise of a ReLU kink a mask flips and every earlier layer's gradient moves, in any float32 implementation."""
    g_err, a_err, flipped = {}, {}, 0
    for s in range(4):
        m32 = copy.deepcopy(model).float()
        gen = torch.Generator().manual_seed(s)
        toward = torch.where(torch.rand(x.shape, generator=gen) < 0.5, -math.inf, math.inf)
        _, g32 = train_grads(m32, torch.nextafter(x, toward), y)
        for k, e in rel_errors(projections(g32), ref_grads).items():
            g_err[k] = max(g_err.get(k, 0.0), e)
        for k, g in g32.items():
            ref = grads64[k]
            keep = torch.ones(ref.numel(), dtype=torch.bool)
            ex = sensitive.get(k)
            if ex == "all":
                continue
            if ex:
                keep[torch.tensor(ex)] = False
            flipped += int(((g.double().reshape(-1).sign() != ref.reshape(-1).sign()) & keep).sum())
        after = adam_step(m32, lr)
        got = projections({k: v for k, v in after.items() if not k.endswith("num_batches_tracked")}, sensitive)
        for k, e in rel_errors(got, ref_after).items():
            a_err[k] = max(a_err.get(k, 0.0), e)
    return g_err, a_err, flipped


grads64 = {}


def case(name, model, shape, classes):
    torch.manual_seed(0)
    sd = set_formula_weights(model)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "w.safetensors")
        save_file(sd, path)
        blob = open(path, "rb").read()
    (hlen,) = struct.unpack("<Q", blob[:8])
    header = blob[8 : 8 + hlen].decode()
    y = torch.arange(shape[0]) % classes
    lr = 1e-3
    # The reference is PyTorch in float64. The batch is the first of a few formula inputs on which float32 is
    # well-conditioned (float32 PyTorch within WELL of it, no sign flips); where none is, the least noisy one,
    # and the test's bound for each tensor is twice float32 PyTorch's own spread (at least 1e-4).
    best = None
    for seed in range(4):
        input_name = "input" if seed == 0 else f"input.{seed}"
        x = torch.from_numpy(unit(input_name, int(np.prod(shape))).reshape(shape))
        m64 = copy.deepcopy(model).double()
        m64.eval()
        with torch.no_grad():
            logits = m64(x.double())
        loss, grads = train_grads(m64, x.double(), y)
        grads64.clear()
        grads64.update(grads)
        top = max(float(g.norm()) for g in grads.values())
        zero = [k for k, g in grads.items() if float(g.norm()) <= ZERO * top]
        sensitive = sensitive_elements(grads, zero)
        after = adam_step(m64, lr)
        ref_grads = projections({k: g for k, g in grads.items() if k not in zero})
        ref_after = projections({k: v for k, v in after.items() if not k.endswith("num_batches_tracked")}, sensitive)
        g_err, a_err, flipped = spread(model, x, y, lr, ref_grads, ref_after, sensitive)
        worst = max(max(g_err.values()), max(a_err.values()))
        print(f"  {name} {input_name}: float32 PyTorch vs float64: worst {worst:.2e}, sign flips {flipped}")
        if best is None or worst < best[0]:
            best = (worst, flipped, input_name, logits, loss, zero, top, sensitive, ref_grads, ref_after, after, g_err, a_err)
        if worst <= WELL and flipped == 0:
            break
    worst, flipped, input_name, logits, loss, zero, top, sensitive, ref_grads, ref_after, after, g_err, a_err = best
    # In full: the classifier's bias and the first BatchNorm's running statistics (small); the rest as projections.
    full = [k for k in after if k in ("fc.bias", "classifier.1.bias", "bn1.running_mean", "bn1.running_var", "features.0.1.running_mean", "features.0.1.running_var")]
    r = lambda d: {k: float(f"{v:.3g}") for k, v in d.items()}
    return {
        "model": name,
        "inputShape": list(shape),
        "inputName": input_name,
        "classes": classes,
        "header": header,
        "sha256": hashlib.sha256(blob).hexdigest(),
        "bytes": len(blob),
        "float32Worst": worst,
        "wellConditioned": worst <= WELL and flipped == 0,
        "evalLogits": logits.reshape(-1).tolist(),
        "trainLoss": float(loss),
        "grads": ref_grads,
        "gradSpread": r(g_err),
        "zeroGrads": zero,
        "gradTop": top,
        "lr": lr,
        "sensitive": sensitive,
        "after": ref_after,
        "afterSpread": r(a_err),
        "afterFull": {k: after[k].reshape(-1).tolist() for k in full},
        "numBatchesTracked": int(next(v for k, v in after.items() if k.endswith("num_batches_tracked"))),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = [
        ("resnet18", torchvision.models.resnet18(num_classes=10), (2, 3, 64, 64), 10),
        ("mobilenet_v2", torchvision.models.mobilenet_v2(num_classes=10), (2, 3, 64, 64), 10),
        ("resnet20", ResNetCifar(20), (4, 3, 32, 32), 10),
    ]
    for name, model, shape, classes in cases:
        # torchvision's mobilenet_v2 has dropout before its classifier: off here (p = 0 both sides) so the
        # train-mode pass is deterministic; our spec sets dropout 0 for this case too.
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.p = 0.0
        r = case(name, model, shape, classes)
        with open(os.path.join(OUT, f"{name}.json"), "w") as f:
            json.dump(r, f, separators=(",", ":"))
        print(name, "loss", r["trainLoss"], "file", r["bytes"], "bytes, json", os.path.getsize(os.path.join(OUT, f"{name}.json")))


if __name__ == "__main__":
    main()
