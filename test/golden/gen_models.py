#!/usr/bin/env python3
"""Golden values from PyTorch for whole-model training runs through `fit`, written to models.json next to
this script.

- bnFit20: BatchNorm2d's running statistics after 20 training steps of a small model
  (conv 2→3 3×3 pad 1, BatchNorm2d, ReLU, flatten, Linear 75→4; torch.nn.Sequential, so the state_dict
  keys are the wasmcnn model's) under plain SGD (lr 0.1) on mean cross-entropy, batches of 2 in order
  (40 samples, no shuffling), for momentum 0.1 and None (the cumulative average). Inputs are the xorshift
  `data(n, seed)` of crates/core/tests/common (gen_norm_act_loss.py's generator); the initial weights are
  torch's default initialisation (seed 0) rounded to float32 and stored. Training runs in float64 from
  those float32 values; torch's own float32 run is stored beside it for comparison.

Run from the repository root: .venv/bin/python test/golden/gen_models.py
"""

import json
import os

import numpy as np
import torch
import torch.nn.functional as F

from gen_norm_act_loss import data, f32, f64


def model(momentum):
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(2, 3, 3, padding=1),
        torch.nn.BatchNorm2d(3, momentum=momentum),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(75, 4),
    )


def bn_fit20():
    n, seed = 40, 900
    x = data(n * 2 * 5 * 5, seed).reshape(n, 2, 5, 5)
    labels = [(3 * i + 1) % 4 for i in range(n)]
    init = {k: v.detach().float() for k, v in model(0.1).state_dict().items()}
    out = {"n": n, "seed": seed, "labels": labels, "lr": 0.1, "batchSize": 2,
           "weights": {k: f32(v) if v.dtype != torch.int64 else [int(v)] for k, v in init.items()}, "runs": []}
    for momentum in (0.1, None):
        run = {"momentum": momentum}
        for dtype, key in ((torch.float64, "f64"), (torch.float32, "torch_f32")):
            m = model(momentum).to(dtype)
            m.load_state_dict({k: v.to(dtype) if v.is_floating_point() else v for k, v in init.items()})
            m.train()
            opt = torch.optim.SGD(m.parameters(), lr=0.1)
            for step in range(20):
                xb = torch.tensor(x[2 * step:2 * step + 2], dtype=dtype)
                yb = torch.tensor(labels[2 * step:2 * step + 2])
                opt.zero_grad()
                F.cross_entropy(m(xb), yb).backward()
                opt.step()
            bn = m[1]
            run[key] = {"runningMean": f64(bn.running_mean), "runningVar": f64(bn.running_var),
                        "batchesTracked": int(bn.num_batches_tracked), "weight": f64(m[0].weight.detach())}
        out["runs"].append(run)
    return out


def main():
    golden = {"generator": "test/golden/gen_models.py", "torch": torch.__version__, "bnFit20": bn_fit20()}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models.json")
    with open(path, "w") as f:
        json.dump(golden, f, separators=(",", ":"))
    print(f"wrote {path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
