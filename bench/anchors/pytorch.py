"""Native PyTorch anchor of `npm run bench`: the bench's training models, trained the same way in torch.

Run with Debian's python3-torch (1.13): `/usr/bin/python3 bench/anchors/pytorch.py --threads N`. One process
per thread count (bench/anchors/pytorch.ts spawns it), so torch.set_num_threads(N) holds for its whole life
and the intra-op pool is never resized. The process answers requests, one JSON object per line on stdin,
with one JSON line each on stdout, which lets bench/run.ts interleave these runs with its own:

  {"op": "keys", "model": m}   -> {"keys": [[state_dict key, shape], ...]}   (the architecture check)
  {"op": "train", "model": m, "batch": B, "warmup": W, "samples": S, "shuffle": bool, "seed": k}
                               -> {"samples": S', "seconds": t, "samplesPerSec": S'/t}

Models (the same architectures as the bench's, checked key by key and shape by shape against ours):
  lenet        examples/mnist-demo-model.ts's LENET, 1×28×28
  cifar-small  bench/cifar.ts's CIFAR_SMALL, 3×32×32
  resnet20     test/golden/gen_zoo.py's ResNetCifar(20) (He et al.'s, projection shortcuts), 3×32×32
  mobilenetv2  torchvision.models.mobilenet_v2(num_classes=10), 3×64×64

A train request builds a fresh model (seeded) in train mode (BatchNorm on batch statistics, dropout active)
and torch.optim.Adam(lr=1e-3) with torch's defaults (on CPU in 1.13: the per-tensor loop, no foreach), and
trains on random inputs and labels drawn from a fixed seed with nn.CrossEntropyLoss (the batch mean, as our
fit). W samples of warm-up steps, then timed steps until S samples are done; with `shuffle`, every pass over
the data is in a fresh seeded order gathered batch by batch (as our fit's shuffle does). Each step:
zero_grad(set_to_none=True), forward, loss, backward, step.

Without torch the process prints {"error": "..."} and exits; the bench then says it has no PyTorch rows.
"""
import argparse
import json
import os
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torchvision
except ImportError as e:  # the bench runs without PyTorch; it says so and has no PyTorch rows
    print(json.dumps({"error": f"PyTorch not installed: no PyTorch rows ({e})"}), flush=True)
    sys.exit(0)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "golden"))
from gen_zoo import ResNetCifar  # noqa: E402  (the zoo's torch twin of models.resnetCifar)


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 8, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 10),
    )


def cifar_small():
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 8 * 8, 128), nn.ReLU(), nn.Linear(128, 10),
    )


MODELS = {
    "lenet": (lenet, (1, 28, 28)),
    "cifar-small": (cifar_small, (3, 32, 32)),
    "resnet20": (lambda: ResNetCifar(20), (3, 32, 32)),
    "mobilenetv2": (lambda: torchvision.models.mobilenet_v2(num_classes=10), (3, 64, 64)),
}
CLASSES = 10


def keys(req):
    model = MODELS[req["model"]][0]()
    return {"keys": [[k, list(v.shape)] for k, v in model.state_dict().items()]}


def train(req):
    build, shape = MODELS[req["model"]]
    batch, warmup, samples = int(req["batch"]), int(req["warmup"]), int(req["samples"])
    n = samples  # the data: as ours, as many samples as are timed
    torch.manual_seed(int(req.get("seed", 1)))
    model = build().train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(n, *shape)
    y = torch.randint(0, CLASSES, (n,))
    gen = torch.Generator().manual_seed(int(req.get("seed", 1)))

    def passes():
        """Batches forever, pass after pass over the n samples (a fresh order per pass with shuffle)."""
        while True:
            order = torch.randperm(n, generator=gen) if req.get("shuffle") else None
            for at in range(0, n, batch):
                if order is None:
                    yield x[at:at + batch], y[at:at + batch]
                else:
                    idx = order[at:at + batch]
                    yield x.index_select(0, idx), y.index_select(0, idx)

    def step(xb, yb):
        opt.zero_grad(set_to_none=True)
        loss_fn(model(xb), yb).backward()
        opt.step()

    batches = passes()
    done = 0
    while done < warmup:
        xb, yb = next(batches)
        step(xb, yb)
        done += len(yb)
    done = 0
    t0 = time.perf_counter()
    while done < samples:
        xb, yb = next(batches)
        step(xb, yb)
        done += len(yb)
    seconds = time.perf_counter() - t0
    return {"samples": done, "seconds": seconds, "samplesPerSec": done / seconds}


def blas_library():
    """The BLAS shared object this process actually mapped (Debian's torch links whatever libblas.so.3 is)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
        return ", ".join(sorted(os.path.realpath(p) for p in libs)) or "none mapped"
    except OSError:
        return "unknown"


def config_lines():
    """The build facts that decide CPU speed: oneDNN, MKL, BLAS, OpenMP, the CPU capability, the threads."""
    want = ("MKL-DNN", "MKL not found", "Intel(R) Math Kernel", "OpenMP", "CPU capability", "BLAS_INFO", "LAPACK_INFO",
            "USE_MKL", "USE_OPENMP", "parallel backend", "get_num_interop")
    lines = []
    for line in (torch.__config__.show() + torch.__config__.parallel_info()).splitlines():
        parts = line.split(",") if "Build settings:" in line else [line]
        lines += [p.strip().removeprefix("- ").removeprefix("Build settings: ") for p in parts]
    out = list(dict.fromkeys(line for line in lines if any(w in line for w in want)))
    out.append(f"mkldnn (oneDNN) enabled: {torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled}")
    out.append(f"BLAS library mapped: {blas_library()}")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, required=True)
    args = ap.parse_args()
    # Inter-op parallelism must be fixed before any parallel work; the intra-op pool is what we measure.
    torch.set_num_interop_threads(1)
    torch.set_num_threads(args.threads)
    print(json.dumps({
        "ready": True, "torch": torch.__version__, "torchvision": torchvision.__version__,
        "threads": torch.get_num_threads(), "config": config_lines(),  # the threads: what torch says it uses
    }), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            res = {"keys": keys, "train": train}[req["op"]](req)
        except Exception as e:  # reported to the bench, which drops this row and says why
            res = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
