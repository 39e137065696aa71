"""Continue a wasmcnn training run in PyTorch, on 2 CPU processes with DistributedDataParallel.

Reads what examples/to-pytorch.ts wrote (the model's state_dict, Adam's state as torch.optim's state_dict,
the data, and a probe batch with its loss and the weights one more step leads to in wasmcnn), then:
  1. loads the weights with strict=True and checks the probe batch's loss equals wasmcnn's;
  2. loads Adam's state and takes one DDP step (2 ranks × 32 samples = the probe's 64) and checks the weights
     equal wasmcnn's after the same step (DDP averages the ranks' mean gradients: the batch's mean);
  3. trains on, printing the loss curve, which continues wasmcnn's.
Usage: python3 examples/continue_in_pytorch.py <dir> [--steps N]   (torch ≥ 1.13, safetensors; gloo backend)
"""
import argparse
import json
import os
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file


def lenet():
    """The demo's LeNet (examples/mnist-demo-model.ts), as an nn.Sequential: its state_dict keys are wasmcnn's."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 10),
    )


def adam_from(model, path):
    """torch.optim.Adam over the model's parameters, its state and param_groups from wasmcnn's file."""
    named = dict(model.named_parameters())
    with safe_open(path, "pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    groups = json.loads(meta["param_groups"])
    opt = torch.optim.Adam([{"params": [named[n] for n in g["param_names"]]} for g in groups])
    state = {}
    for k, v in tensors.items():
        _, i, slot = k.split(".", 2)
        state.setdefault(int(i), {})[slot] = v
    opt.load_state_dict({"state": state, "param_groups": groups})
    return opt


def rel_err(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-2)).item()


def worker(rank, world, d, steps, port, result):
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = lenet()
    model.load_state_dict(load_file(os.path.join(d, "model.safetensors")), strict=True)
    probe = load_file(os.path.join(d, "probe.safetensors"))
    with torch.no_grad():
        probe_loss = F.cross_entropy(model(probe["x"]), probe["y"]).item()
    ddp = nn.parallel.DistributedDataParallel(model)
    opt = adam_from(model, os.path.join(d, "optimizer.safetensors"))
    # Step 1: the probe batch, split over the ranks.
    half = probe["x"].shape[0] // world
    sl = slice(rank * half, (rank + 1) * half)
    opt.zero_grad()
    F.cross_entropy(ddp(probe["x"][sl]), probe["y"][sl]).backward()
    opt.step()
    errs = {k: rel_err(v.detach(), probe["after." + k]) for k, v in model.state_dict().items()}
    # Then on through the data, each rank its half of every batch of 64.
    data = load_file(os.path.join(d, "data.safetensors"))
    g = torch.Generator().manual_seed(7)
    order = torch.randperm(data["x"].shape[0], generator=g)
    losses = []
    for s in range(steps):
        idx = order[s * 64:(s + 1) * 64][rank * 32:(rank + 1) * 32]
        opt.zero_grad()
        loss = F.cross_entropy(ddp(data["x"][idx]), data["y"][idx])
        loss.backward()
        opt.step()
        t = loss.detach().clone()
        dist.all_reduce(t)
        losses.append(t.item() / world)
    if rank == 0:
        result.update({"probe_loss": probe_loss, "step_errors": errs, "losses": losses})
    dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--port", type=int, default=29517)
    a = ap.parse_args()
    with safe_open(os.path.join(a.dir, "probe.safetensors"), "pt") as f:
        wasm_loss = f.get_tensor("loss").item()
    result = mp.Manager().dict()
    mp.spawn(worker, args=(2, a.dir, a.steps, a.port, result), nprocs=2, join=True)
    out = {"wasmcnn_probe_loss": wasm_loss, **dict(result)}
    worst = max(out["step_errors"].values())
    out["max_step_error"] = worst
    print(json.dumps(out))
    ok = abs(out["probe_loss"] - wasm_loss) <= 1e-5 * abs(wasm_loss) and worst <= 1e-5
    print(f"probe loss: PyTorch {out['probe_loss']:.6f}, wasmcnn {wasm_loss:.6f}; after one DDP Adam step the weights "
          f"differ from wasmcnn's by ≤ {worst:.2e} (relative); loss curve on 2 ranks: "
          + " ".join(f"{x:.3f}" for x in out["losses"][::5]), file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
