"""Checks files written by wasmcnn's serializer with the official `safetensors` package and torch.

Usage: check_safetensors.py DIR  (test/safetensors-python.test.ts writes DIR, then runs this when a Python
with torch and safetensors exists; CI has none, so the committed fixtures carry the main proof).

DIR holds:
  ours.safetensors, ours.json   a file from serializeSafetensors and what it should hold: per tensor its
                                dtype, shape and bytes (hex), and the metadata. Checked: safe_open reads the
                                same metadata, dtypes, shapes and bytes; and, with at most one metadata key
                                (several are ordered by a HashMap), safetensors.torch.save writes the same bytes.
  optim_<name>.safetensors      the optimizer fixtures after a trip through wasmcnn (parse, then
                                optimizerStateFromSafetensors, optimizerStateToSafetensors, serialize). Checked:
                                a fresh torch optimizer loads one, over a model holding the parameters torch had
                                when it saved, and one more step lands bit for bit where torch, continuing
                                without a save, did (expected.json).
"""
import json
import os
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gen_safetensors import MLP, OUT, f32_bits, train_step  # noqa: E402

DTYPES = {'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16, 'F64': torch.float64, 'I64': torch.int64,
          'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8, 'U8': torch.uint8, 'BOOL': torch.bool}
failures = []


def check(ok, what):
    print(('ok   ' if ok else 'FAIL ') + what)
    if not ok:
        failures.append(what)


def raw(t):
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b''


def check_ours(d):
    path = os.path.join(d, 'ours.safetensors')
    want = json.load(open(os.path.join(d, 'ours.json')))
    with safe_open(path, 'pt') as f:
        check((f.metadata() or None) == want['metadata'], f'metadata {want["metadata"]}')
        check(sorted(f.keys()) == sorted(want['tensors']), 'tensor names')
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    for name, w in want['tensors'].items():
        t = tensors[name]
        check(t.dtype == DTYPES[w['dtype']] and list(t.shape) == w['shape'] and raw(t).hex() == w['bytes'],
              f'{name}: {w["dtype"]} {w["shape"]}')
    if want['metadata'] is None or len(want['metadata']) <= 1:
        check(save(tensors, want['metadata']) == open(path, 'rb').read(), 'safetensors.torch.save writes the same bytes')


def load_optimizer(path):
    with safe_open(path, 'pt') as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    state = {}
    for k, v in tensors.items():
        _, i, slot = k.split('.', 2)
        state.setdefault(int(i), {})[slot] = v
    return {'state': state, 'param_groups': json.loads(meta['param_groups'])}


def check_optim(d):
    expected = json.load(open(os.path.join(OUT, 'expected.json')))['optim']
    for name, case in expected.items():
        path = os.path.join(d, f'optim_{name}.safetensors')
        if not os.path.exists(path):
            continue
        model = MLP()
        with torch.no_grad():
            for k, p in model.state_dict().items():
                p.copy_(torch.tensor(case['params_after_3_steps'][k]).to(torch.int32).view(torch.float32).reshape(p.shape))
        sd = load_optimizer(os.path.join(d, f'optim_{name}.safetensors'))
        params = dict(model.named_parameters())
        groups = [{'params': [params[n] for n in g['param_names']]} for g in sd['param_groups']]
        opt = getattr(torch.optim, case['class'])(groups, lr=1.0)
        opt.load_state_dict(sd)
        b = case['next_batch']
        train_step(model, opt, torch.tensor(b['x']).reshape(b['x_shape']), torch.tensor(b['y']))
        got = {k: f32_bits(v) for k, v in model.state_dict().items()}
        check(got == case['params_after_4_steps'], f'{case["class"]}: one more step after the trip matches torch bit for bit')


def main():
    d = sys.argv[1]
    check_ours(d)
    check_optim(d)
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
