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
Run: /work/venv/bin/python test/golden/gen_interop.py   (Debian torch 1.13 + torchvision 0.14, safetensors)
"""
import hashlib
import json
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


def projections(tensors):
    """Per tensor: Σ t·r with r the formula vector of '<name>.proj', and the L2 norm (f64)."""
    out = {}
    for k, t in tensors.items():
        v = t.detach().double().reshape(-1)
        r = torch.from_numpy(unit(k + ".proj", v.numel()).astype(np.float64))
        out[k] = [float((v * r).sum()), float(v.norm())]
    return out


def case(name, model, shape, classes):
    torch.manual_seed(0)
    sd = set_formula_weights(model)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "w.safetensors")
        save_file(sd, path)
        blob = open(path, "rb").read()
    (hlen,) = struct.unpack("<Q", blob[:8])
    header = blob[8 : 8 + hlen].decode()
    x = torch.from_numpy(unit("input", int(np.prod(shape))).reshape(shape))
    y = torch.arange(shape[0]) % classes
    model.eval()
    with torch.no_grad():
        logits = model(x).double()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    grads = {k: p.grad for k, p in model.named_parameters()}
    opt.step()
    after = model.state_dict()
    # In full: the classifier's bias and the first BatchNorm's running statistics (small); the rest as projections.
    full = [k for k in after if k in ("fc.bias", "classifier.1.bias", "bn1.running_mean", "bn1.running_var", "features.0.1.running_mean", "features.0.1.running_var")]
    return {
        "model": name,
        "inputShape": list(shape),
        "classes": classes,
        "header": header,
        "sha256": hashlib.sha256(blob).hexdigest(),
        "bytes": len(blob),
        "evalLogits": logits.reshape(-1).tolist(),
        "trainLoss": float(loss),
        "grads": projections(grads),
        "after": projections({k: v for k, v in after.items() if not k.endswith("num_batches_tracked")}),
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
