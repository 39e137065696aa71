"""What PyTorch reaches training test/resnet-mnist-setup.ts's ResNet-14 on the demo's MNIST split from the same
initial weights, in the same sample order, with the same optimizer and schedule: test/golden/resnet_mnist.json.

The model is gen_zoo.py's ResNetCifar (torchvision's BasicBlock, projection shortcuts) with depth 14 and a
1-channel stem; the initial weights, the data (the split's training digits and a shifted copy of each) and
each epoch's order come from resnet-mnist-export.ts.
Run: .venv/bin/python test/golden/gen_resnet_mnist.py   (torch 1.13 + torchvision 0.14, safetensors)
"""
import json
import os
import subprocess
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file

from gen_zoo import ResNetCifar

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as d:
        cfg = json.loads(subprocess.run([os.path.join(ROOT, "node_modules/.bin/tsx"), os.path.join(HERE, "resnet-mnist-export.ts"), d],
                                        check=True, capture_output=True, text=True, cwd=ROOT).stdout.strip().splitlines()[-1])
        init = load_file(os.path.join(d, "init.safetensors"))
        data = load_file(os.path.join(d, "data.safetensors"))
    fit = cfg["fit"]
    model = ResNetCifar(cfg["depth"], num_classes=10)
    model.conv1 = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
    model.load_state_dict(init, strict=True)
    o = fit["optimizer"]
    assert o["type"] == "adamw", o
    opt = torch.optim.AdamW(model.parameters(), lr=o["lr"], weight_decay=o["weightDecay"])
    smoothing = fit["loss"]["labelSmoothing"]
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=fit["schedule"]["tMax"])
    bs = fit["batchSize"]
    losses = []
    for epoch in range(fit["epochs"]):
        model.train()
        order = data["orders"][epoch]
        total = 0.0
        for s in range(0, order.numel(), bs):
            idx = order[s:s + bs]
            opt.zero_grad()
            loss = F.cross_entropy(model(data["train_x"][idx]), data["train_y"][idx], label_smoothing=smoothing)
            loss.backward()
            opt.step()
            total += loss.item() * idx.numel()
        sched.step()
        losses.append(total / order.numel())
        model.eval()
        with torch.no_grad():
            acc = (model(data["test_x"]).argmax(1) == data["test_y"]).float().mean().item()
        print(f"epoch {epoch + 1}: loss {losses[-1]:.4f}, test accuracy {100 * acc:.2f}%")
    out = {"torch": torch.__version__, "epochLosses": losses, "testAccuracy": acc}
    with open(os.path.join(HERE, "resnet_mnist.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(out)


if __name__ == "__main__":
    main()
