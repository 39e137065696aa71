#!/usr/bin/python3
"""Golden vectors for the convolution and pooling vocabulary (issue 13), from PyTorch.

Writes conv_pool.json next to this script: grouped conv2d (groups 1, 2, 3, pointwise, strided, dilated,
asymmetric padding; 3x3 stride 1 with >= 8 channels per group, which runs as Winograd's F(2x2, 3x3)),
depthwise conv2d (groups = C, channel multiplier 2, 3x3 and 5x5, stride 2, TF 'same' padding), conv_transpose2d (stride, padding, output_padding, dilation, groups), avg_pool2d (ceil_mode x
count_include_pad, divisor_override), max_pool2d in ceil mode, adaptive_avg_pool2d (including the global
1x1) and adaptive_max_pool2d, each with the forward output and the gradient of every input (autograd, with
an upstream gradient dy).

The inputs are not stored: every input tensor is `data(numel, seed)` (row-major in its PyTorch shape), the
xorshift generator of crates/core/tests/common/mod.rs, reproduced here bit for bit in float32 (the JSON's
"probe" holds data(8, 1) so the Rust test can check the two agree). The computation runs in float64 on
those float32 values, and outputs and gradients are rounded to float32 (generate.py's number format).
Asymmetric padding is F.pad before an unpadded op, as TensorFlow's 'SAME' pads; a case's "pad" is
[top, left, bottom, right].

Run from the repository root:  .venv/bin/python test/golden/gen_conv_pool.py
"""

import numpy as np
import torch
import torch.nn.functional as F

from generate import f32, write  # noqa: E402  (same directory: the shared number format)

GENERATOR = "test/golden/gen_conv_pool.py"
torch.set_num_threads(1)


def data(n, seed):
    """crates/core/tests/common/mod.rs `data`: xorshift32 values in [-1, 1) as float32."""
    s = (seed * 2654435761 + 1) & 0xFFFFFFFF
    out = np.empty(n, dtype=np.float32)
    scale = np.float32(4294967295.0)  # u32::MAX as f32 (rounds to 2^32)
    for i in range(n):
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        out[i] = np.float32(s) / scale * np.float32(2.0) - np.float32(1.0)
    return out


class Inputs:
    """Draws input tensors from consecutive seeds and records (shape, seed) for the JSON."""

    def __init__(self, seed):
        self.seed = seed
        self.spec = {}

    def __call__(self, name, *shape):
        n = int(np.prod(shape))
        t = torch.from_numpy(data(n, self.seed).reshape(shape)).double().requires_grad_(True)
        self.spec[name] = {"shape": list(shape), "seed": self.seed}
        self.seed += 1
        return t


def finish(op, name, attrs, inp, y, params):
    """Backward with dy = data(...) and the case record: y and the gradient of every input in `params`."""
    dy = torch.from_numpy(data(y.numel(), inp.seed).reshape(tuple(y.shape))).double()
    inp.spec["dy"] = {"shape": list(y.shape), "seed": inp.seed}
    y.backward(dy)
    return {"op": op, "name": name, "attrs": attrs, "inputs": inp.spec, "y": f32(y),
            "grads": {k: f32(t.grad) for k, t in params.items()}}


def conv_case(name, seed, n, c, hw, o, k, stride=(1, 1), pad=(0, 0, 0, 0), dilation=(1, 1), groups=1, op="conv2d"):
    inp = Inputs(seed)
    x = inp("x", n, c, *hw)
    w = inp("w", o, c // groups, *k)
    b = inp("b", o)
    top, left, bottom, right = pad
    y = F.conv2d(F.pad(x, (left, right, top, bottom)), w, b, stride=stride, dilation=dilation, groups=groups)
    attrs = {"n": n, "c": c, "hw": list(hw), "o": o, "k": list(k), "stride": list(stride), "pad": list(pad),
             "dilation": list(dilation), "groups": groups}
    return finish(op, name, attrs, inp, y, {"x": x, "w": w, "b": b})


def conv_transpose_case(name, seed, n, cin, hw, cout, k, stride, padding, output_padding, dilation, groups):
    inp = Inputs(seed)
    x = inp("x", n, cin, *hw)
    w = inp("w", cin, cout // groups, *k)
    b = inp("b", cout)
    y = F.conv_transpose2d(x, w, b, stride=stride, padding=padding, output_padding=output_padding,
                           groups=groups, dilation=dilation)
    attrs = {"n": n, "cin": cin, "hw": list(hw), "cout": cout, "k": list(k), "stride": list(stride),
             "padding": list(padding), "outputPadding": list(output_padding), "dilation": list(dilation),
             "groups": groups}
    return finish("conv_transpose2d", name, attrs, inp, y, {"x": x, "w": w, "b": b})


def avgpool_case(name, seed, n, c, hw, k, stride, padding, ceil_mode, count_include_pad, divisor_override=None):
    inp = Inputs(seed)
    x = inp("x", n, c, *hw)
    y = F.avg_pool2d(x, k, stride, padding, ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                     divisor_override=divisor_override)
    attrs = {"n": n, "c": c, "hw": list(hw), "k": list(k), "stride": list(stride), "padding": list(padding),
             "ceilMode": ceil_mode, "countIncludePad": count_include_pad, "divisorOverride": divisor_override}
    return finish("avg_pool2d", name, attrs, inp, y, {"x": x})


def distinct(x):
    """Max pooling goldens need no ties: the gradient of a tie depends on which index wins."""
    v = x.detach().reshape(-1).tolist()
    assert len(set(v)) == len(v), "tied input values"


def maxpool_case(name, seed, n, c, hw, k, stride, padding, dilation, ceil_mode):
    inp = Inputs(seed)
    x = inp("x", n, c, *hw)
    distinct(x)
    y = F.max_pool2d(x, k, stride, padding, dilation, ceil_mode=ceil_mode)
    attrs = {"n": n, "c": c, "hw": list(hw), "k": list(k), "stride": list(stride), "padding": list(padding),
             "dilation": list(dilation), "ceilMode": ceil_mode}
    return finish("max_pool2d", name, attrs, inp, y, {"x": x})


def adaptive_case(name, seed, kind, n, c, hw, out):
    inp = Inputs(seed)
    x = inp("x", n, c, *hw)
    if kind == "max":
        distinct(x)
        y = F.adaptive_max_pool2d(x, out)
    else:
        y = F.adaptive_avg_pool2d(x, out)
    attrs = {"n": n, "c": c, "hw": list(hw), "out": list(out)}
    return finish(f"adaptive_{kind}_pool2d", name, attrs, inp, y, {"x": x})


def build():
    cases = [
        conv_case("groups 1, 3x3 pad 1, 2 samples", 100, 2, 2, (4, 5), 3, (3, 3), pad=(1, 1, 1, 1)),
        conv_case("groups 2, stride 2, asymmetric pad", 110, 1, 4, (6, 5), 4, (3, 3), stride=(2, 2), pad=(0, 1, 1, 0), groups=2),
        conv_case("groups 3, dilation 2", 120, 1, 3, (6, 7), 3, (3, 3), pad=(2, 2, 2, 2), dilation=(2, 2), groups=3),
        conv_case("groups 2, pointwise", 130, 1, 4, (4, 4), 6, (1, 1), groups=2),
        conv_case("groups 2, 3x2 stride (2, 1)", 140, 1, 4, (7, 5), 4, (3, 2), stride=(2, 1), pad=(1, 0, 1, 1), groups=2),
        conv_case("groups 2, 9 samples", 150, 9, 2, (3, 3), 2, (3, 3), pad=(1, 1, 1, 1), groups=2),
        # 3x3 stride 1 with >= 8 channels per group in and out: Winograd's F(2x2, 3x3) path.
        conv_case("Winograd 8 -> 9, pad 1, odd 5x7, 2 samples", 160, 2, 8, (5, 7), 9, (3, 3), pad=(1, 1, 1, 1)),
        conv_case("Winograd groups 2 (8 per group), pad 1", 170, 1, 16, (4, 5), 16, (3, 3), pad=(1, 1, 1, 1), groups=2),
        conv_case("Winograd asymmetric pad (1, 0, 2, 1)", 180, 1, 8, (6, 5), 8, (3, 3), pad=(1, 0, 2, 1)),
        conv_case("Winograd 9 -> 8, no padding", 190, 1, 9, (6, 7), 8, (3, 3)),
        conv_case("3x3 stride 1", 200, 1, 2, (5, 9), 2, (3, 3), pad=(1, 1, 1, 1), groups=2, op="depthwise2d"),
        conv_case("3x3 stride 2, multiplier 2", 210, 1, 2, (8, 7), 4, (3, 3), stride=(2, 2), pad=(1, 1, 1, 1), groups=2, op="depthwise2d"),
        conv_case("5x5 stride 2", 220, 1, 1, (9, 11), 1, (5, 5), stride=(2, 2), pad=(2, 2, 2, 2), groups=1, op="depthwise2d"),
        conv_case("3x3 stride 2, TF same (pad 0/1)", 230, 1, 3, (8, 8), 3, (3, 3), stride=(2, 2), pad=(0, 0, 1, 1), groups=3, op="depthwise2d"),
        conv_case("3x3 dilation 2, multiplier 3", 240, 1, 1, (7, 6), 3, (3, 3), pad=(2, 2, 2, 2), dilation=(2, 2), groups=1, op="depthwise2d"),
        conv_case("5x5 stride 1, width 17", 250, 1, 1, (6, 17), 1, (5, 5), pad=(2, 2, 2, 2), groups=1, op="depthwise2d"),
        conv_transpose_case("stride 1 pad 1", 300, 2, 3, (4, 5), 2, (3, 3), (1, 1), (1, 1), (0, 0), (1, 1), 1),
        conv_transpose_case("stride 2 output_padding 1, groups 2", 310, 1, 2, (3, 4), 4, (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 2),
        conv_transpose_case("stride (2, 1) dilation (2, 1) output_padding (1, 0)", 320, 1, 2, (3, 3), 3, (3, 3), (2, 1), (0, 1), (1, 0), (2, 1), 1),
        conv_transpose_case("4x4 stride 2 pad 1, groups 2", 330, 2, 2, (4, 4), 2, (4, 4), (2, 2), (1, 1), (0, 0), (1, 1), 2),
        conv_transpose_case("stride 3, output_padding 2", 340, 1, 2, (3, 2), 2, (2, 3), (3, 3), (0, 1), (2, 2), (1, 1), 1),
    ]
    for ceil in (False, True):
        for cip in (True, False):
            cases.append(avgpool_case(f"3x3 s2 p1 ceil {ceil} countIncludePad {cip}", 400 + 2 * ceil + cip, 1, 1, (7, 8), (3, 3), (2, 2), (1, 1), ceil, cip))
    cases += [
        avgpool_case("3x3 s2 p1 ceil, divisor 4", 410, 1, 1, (7, 8), (3, 3), (2, 2), (1, 1), True, True, 4),
        avgpool_case("2x2 s2 ceil (overhang, no padding)", 420, 1, 2, (7, 7), (2, 2), (2, 2), (0, 0), True, True),
        avgpool_case("3x2 s(1, 2) p1 ceil, excluding padding", 430, 1, 1, (5, 7), (3, 2), (1, 2), (1, 1), True, False),
        maxpool_case("3x3 s2 p1 ceil", 500, 1, 2, (8, 7), (3, 3), (2, 2), (1, 1), (1, 1), True),
        maxpool_case("2x2 s2 ceil (overhang, no padding)", 510, 1, 2, (7, 9), (2, 2), (2, 2), (0, 0), (1, 1), True),
        maxpool_case("3x3 s2 dilation 2 ceil", 520, 1, 1, (10, 9), (3, 3), (2, 2), (1, 1), (2, 2), True),
        adaptive_case("7x9 to 3x4", 600, "avg", 1, 2, (7, 9), (3, 4)),
        adaptive_case("5x5 to 7x3", 610, "avg", 1, 2, (5, 5), (7, 3)),
        adaptive_case("global 6x7, 2 samples", 620, "avg", 2, 2, (6, 7), (1, 1)),
        adaptive_case("global 7x7", 630, "avg", 1, 3, (7, 7), (1, 1)),
        adaptive_case("7x9 to 3x4", 640, "max", 1, 2, (7, 9), (3, 4)),
        adaptive_case("4x6 to 7x3", 650, "max", 1, 2, (4, 6), (7, 3)),
    ]
    return {"generator": GENERATOR, "torch": torch.__version__, "probe": f32(data(8, 1)), "cases": cases}


if __name__ == "__main__":
    write("conv_pool.json", build())
