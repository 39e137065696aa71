"""A model trained here loads into PyTorch with strict=True and predicts the same: trains
test/trained-to-torch-setup.ts's models (trained-export.ts), loads each file into its torch twin with
strict=True, and writes the eval-mode logits PyTorch computes (float64) for the probe batch, with the file's
SHA-256, to trained_to_torch.json. The test retrains bitwise and compares.
Run: .venv/bin/python test/golden/gen_trained_to_torch.py
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import torch
import torchvision  # noqa: F401  (the cases name torchvision models)
from safetensors.torch import load_file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from gen_zoo import ResNetCifar  # noqa: E402,F401


def main():
    out = {"torch": torch.__version__, "cases": {}}
    with tempfile.TemporaryDirectory() as d:
        run = subprocess.run([os.path.join(ROOT, "node_modules/.bin/tsx"), os.path.join(HERE, "trained-export.ts"), d],
                             check=True, capture_output=True, text=True, cwd=ROOT)
        cfg = json.loads(run.stdout.strip().splitlines()[-1])
        probe = load_file(os.path.join(d, "probe.safetensors"))["probe"].double()
        for c in cfg["cases"]:
            path = os.path.join(d, c["name"] + ".safetensors")
            assert hashlib.sha256(open(path, "rb").read()).hexdigest() == c["sha256"]
            model = eval(c["torch"])  # noqa: S307  (a constructor expression from our own setup file)
            model.load_state_dict(load_file(path), strict=True)
            model = model.double().eval()
            with torch.no_grad():
                logits = model(probe)
            out["cases"][c["name"]] = {"sha256": c["sha256"], "logits": logits.reshape(-1).tolist(),
                                       "predictions": logits.argmax(1).tolist()}
            print(c["name"], "loaded strictly; predictions", logits.argmax(1).tolist())
    with open(os.path.join(HERE, "trained_to_torch.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
