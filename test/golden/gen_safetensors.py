"""Safetensors fixtures for wasmcnn, written by the official `safetensors` package from torch tensors.

Run with .venv/bin/python (torch 1.13.1, safetensors 0.8.0). Writes to test/fixtures/safetensors/:

  dtypes.safetensors    F32 / F16 / BF16 / F64 / I64 / I32 / I16 / I8 / U8 / BOOL tensors, a 0-dim tensor,
                        empty tensors (shape [0] and [2, 0]) and one `__metadata__` key (one key only, so the
                        official writer's header is deterministic and a re-serialization can be compared
                        byte for byte; Rust's HashMap orders several keys at random).
  metadata.safetensors  several `__metadata__` entries (unicode, quotes, newlines, an empty value) and tensor
                        names with dots, spaces, unicode and integer-like names ("0", "2", "10").
  optim_adam.safetensors, optim_rmsprop.safetensors
                        torch.optim state of a 2-layer MLP after 3 steps, saved with wasmcnn's
                        naming (`state.<i>.<slot>`, `param_groups` as JSON in `__metadata__`, each group
                        carrying `param_names` as torch >= 2.6 does for named parameters).
  expected.json         the values torch holds for every fixture tensor (float dtypes as the float32 bits
                        torch's `.float()` gives, F64 also as float64 numbers, integers as numbers or, beyond
                        2^53, strings), SHA-256 digests of the float32 bits of all 65536 F16 and BF16 patterns,
                        the optimizer fixtures' next batch and the parameters torch reaches after one more step,
                        and torch.optim's state slot names per optimizer.
  state_dict_cases.json load_state_dict outcomes from torch.nn.Module: model keys and shapes, the checkpoint's,
                        the module names, the keys BatchNorm fills in when absent, and what torch reports
                        with strict=True and strict=False (messages with torch.Size([..]) written [..]).
"""
import hashlib
import json
import os
import re

import numpy as np
import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'fixtures', 'safetensors')


def f32_bits(t):
    return [x & 0xFFFFFFFF for x in t.float().contiguous().view(torch.int32).flatten().tolist()]


def int_values(t):
    return [v if abs(v) <= 2**53 - 1 else str(v) for v in t.flatten().tolist()]


def describe(t):
    d = {'dtype': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape)}
    if t.is_floating_point():
        d['float32_bits'] = f32_bits(t)
        if t.dtype == torch.float64:
            d['float64'] = t.flatten().tolist()
    else:
        d['values'] = int_values(t.to(torch.int64))
    return d


def dtypes_fixture():
    inf, nan = float('inf'), float('nan')
    t = {
        'f32': torch.tensor([[0.0, -0.0, 1.5, inf], [3.4028234663852886e38, 1.401298464324817e-45, -2.5, nan]],
                            dtype=torch.float32),
        'f16': torch.tensor([[1.0, -0.0, 65504.0, 2.0**-24], [0.1, -inf, nan, 1 / 3]], dtype=torch.float16),
        'bf16': torch.tensor([1.0, -0.0, 3.3895313892515355e38, 2.0**-133, 0.1, inf, nan, -7.5], dtype=torch.bfloat16),
        'f64': torch.tensor([0.1, -2.5, 1e-50], dtype=torch.float64),
        'f64_big': torch.tensor([1e300], dtype=torch.float64),
        'i64_scalar': torch.tensor(7, dtype=torch.int64),
        'i64': torch.tensor([-5, 2**40, 2**53 - 1, -(2**53 - 1)], dtype=torch.int64),
        'i64_huge': torch.tensor([2**62], dtype=torch.int64),
        'i32': torch.tensor([-2**31, 2**31 - 1], dtype=torch.int32),
        'i16': torch.tensor([-32768, 5], dtype=torch.int16),
        'i8': torch.tensor([-128, 127], dtype=torch.int8),
        'u8': torch.tensor([0, 255, 7], dtype=torch.uint8),
        'bool': torch.tensor([True, False, True]),
        'empty': torch.zeros(0, dtype=torch.float32),
        'empty2d': torch.zeros(2, 0, dtype=torch.float16),
        'scalar': torch.tensor(3.25, dtype=torch.float32),
    }
    save_file(t, os.path.join(OUT, 'dtypes.safetensors'), metadata={'format': 'pt'})
    return {'metadata': {'format': 'pt'}, 'tensors': {k: describe(v) for k, v in t.items()}}


def metadata_fixture():
    meta = {'format': 'pt', 'note': 'é ünïcode ✓ \n "quoted" \\ back', 'empty': '', '0': 'integer-like key'}
    g = torch.Generator().manual_seed(3)
    t = {name: torch.randn(shape, generator=g) for name, shape in [
        ('layer1.0.conv1.weight', (2, 1, 1, 1)), ('0', (1,)), ('10', (2,)), ('2', (1,)), ('é', (1,)), ('a b', (3,))]}
    save_file(t, os.path.join(OUT, 'metadata.safetensors'), metadata=meta)
    return {'metadata': meta, 'tensors': {k: describe(v) for k, v in t.items()}}


def half_tables():
    bits = np.arange(65536, dtype=np.uint32).astype(np.uint16)
    f16_numpy = bits.view(np.float16).astype(np.float32).view(np.uint32)
    f16_torch = torch.from_numpy(bits.view(np.int16).copy()).view(torch.float16).float().view(torch.int32).numpy().view(np.uint32)
    bf16_torch = torch.from_numpy(bits.view(np.int16).copy()).view(torch.bfloat16).float().view(torch.int32).numpy().view(np.uint32)
    differ = np.nonzero(f16_numpy != f16_torch)[0]
    # torch's F16 widening quiets signalling NaNs (sets the f32 quiet bit); numpy's keeps the payload as is.
    snan = [int(h) for h in range(65536) if (h & 0x7C00) == 0x7C00 and (h & 0x3FF) != 0 and not (h & 0x200)]
    assert [int(h) for h in differ] == snan, 'torch and numpy F16 widening differ beyond signalling NaNs'
    bf16_bits = np.arange(65536, dtype=np.uint32) << 16
    assert np.array_equal(bf16_torch, bf16_bits), 'torch BF16 widening is not a 16-bit shift'
    digest = lambda a: hashlib.sha256(a.astype('<u4').tobytes()).hexdigest()
    return {
        'f16_numpy_sha256': digest(f16_numpy),
        'f16_torch_sha256': digest(f16_torch),
        'f16_torch_differs_at_signalling_nans': len(differ),
        'bf16_torch_sha256': digest(bf16_torch),
    }


class MLP(torch.nn.Sequential):
    def __init__(self):
        super().__init__(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 2))


def batch(seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(4, 3, generator=g), torch.randint(0, 2, (4,), generator=g)


def train_step(model, opt, x, y):
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


def optimizer_to_safetensors(opt, model):
    """torch.optim state_dict -> (tensors, metadata) in wasmcnn's naming; `step` becomes an F32 0-dim tensor."""
    names = {id(p): n for n, p in model.named_parameters()}
    sd = opt.state_dict()
    groups = []
    for g, live in zip(sd['param_groups'], opt.param_groups):
        g = {k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()}
        g['param_names'] = [names[id(p)] for p in live['params']]
        groups.append(g)
    tensors = {}
    for i, slots in sd['state'].items():
        for slot, v in slots.items():
            tensors[f'state.{i}.{slot}'] = v.clone() if torch.is_tensor(v) else torch.tensor(float(v), dtype=torch.float32)
    return tensors, {'param_groups': json.dumps(groups)}


def optimizer_fixtures():
    torch.manual_seed(11)
    model = MLP()
    cases = {}
    start = {k: v.clone() for k, v in model.state_dict().items()}
    makers = {
        'adam': lambda p: torch.optim.Adam([{'params': [p[0], p[2]], 'weight_decay': 0.01}, {'params': [p[1], p[3]], 'lr': 0.01}],
                                           lr=1e-3, amsgrad=True, foreach=False),
        'rmsprop': lambda p: torch.optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True, foreach=False),
    }
    for name, make in makers.items():
        model.load_state_dict(start)
        opt = make(list(model.parameters()))
        for s in range(3):
            train_step(model, opt, *batch(100 + s))
        tensors, meta = optimizer_to_safetensors(opt, model)
        save_file(tensors, os.path.join(OUT, f'optim_{name}.safetensors'), metadata=meta)
        params_after3 = {k: f32_bits(v) for k, v in model.state_dict().items()}
        x, y = batch(200)
        train_step(model, opt, x, y)
        cases[name] = {
            'class': type(opt).__name__,
            'param_groups': json.loads(meta['param_groups']),
            'state': {k: describe(v) for k, v in tensors.items()},
            'params_after_3_steps': params_after3,
            'next_batch': {'x': x.flatten().tolist(), 'x_shape': list(x.shape), 'y': y.tolist()},
            'params_after_4_steps': {k: f32_bits(v) for k, v in model.state_dict().items()},
        }
    return cases


def torch_slot_names():
    model = torch.nn.Linear(3, 2)
    found = {}
    for cls, kw in [(torch.optim.SGD, dict(lr=0.1, momentum=0.9)), (torch.optim.Adam, dict(amsgrad=True)),
                    (torch.optim.AdamW, dict(amsgrad=True)), (torch.optim.Adamax, {}), (torch.optim.Adagrad, {}),
                    (torch.optim.Adadelta, {}), (torch.optim.RMSprop, dict(centered=True, momentum=0.5))]:
        opt = cls(model.parameters(), **kw)
        model(torch.randn(2, 3)).sum().backward()
        opt.step()
        slots = opt.state_dict()['state'][0]
        found[cls.__name__] = {k: ('tensor ' + str(v.dtype).replace('torch.', '') + str(list(v.shape)) if torch.is_tensor(v)
                                   else type(v).__name__) for k, v in slots.items()}
    return found


class Net(torch.nn.Module):
    def __init__(self, classes=10, head='fc'):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4)
        self.relu = torch.nn.ReLU()
        setattr(self, head, torch.nn.Linear(4, classes))


def nested():
    return torch.nn.Sequential(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2)), torch.nn.ReLU(),
                               torch.nn.Linear(2, 3))


def shapes(sd):
    return [{'name': k, 'shape': list(v.shape)} for k, v in sd.items()]


def outcome(model, sd, strict):
    try:
        r = model.load_state_dict(sd, strict=strict)
        return {'missing': list(r.missing_keys), 'unexpected': list(r.unexpected_keys)}
    except RuntimeError as e:
        return {'error': re.sub(r'torch\.Size\((\[[^\]]*\])\)', r'\1', str(e))}


def state_dict_cases():
    torch.manual_seed(0)
    base = Net().state_dict()

    def edit(drop=(), add=None):
        sd = {k: v for k, v in base.items() if k not in drop}
        sd.update(add or {})
        return sd

    cases = [
        ('identical', Net(), dict(base)),
        ('head swapped (10 -> 5 classes)', Net(5), dict(base)),
        ('head renamed (fc -> classifier)', Net(10, 'classifier'), dict(base)),
        ('extra and missing keys, with the quirks', Net(), edit(drop=['bn.num_batches_tracked'], add={
            'fc.weight.extra': torch.zeros(1), 'relu.weight': torch.zeros(1), 'fc': torch.zeros(1),
            'layer9.x': torch.zeros(2), 'fc.': torch.zeros(1), 'bn.foo': torch.zeros(1), 'bn._extra_state': torch.zeros(1)})),
        ('1-d checkpoint entries for 0-d buffers', Net(), edit(add={'bn.num_batches_tracked': torch.tensor([5])})),
        ('1-d of 3 for a 0-d buffer', Net(), edit(add={'bn.num_batches_tracked': torch.tensor([5, 6, 7])})),
        ('mismatch, missing and unexpected together', Net(), edit(drop=['fc.bias'], add={
            'conv.weight': torch.zeros(8, 1, 3, 3), 'head.weight': torch.zeros(3), 'bn.running_mean': torch.zeros(4, 1)})),
        ('nested Sequential', nested(), {**nested().state_dict(), '1.weight': torch.zeros(1), '0.2.weight': torch.zeros(1),
                                         '2.weight': torch.zeros(3, 5)}),
        ('empty checkpoint', Net(), {}),
    ]
    out = []
    for title, model, sd in cases:
        out.append({
            'title': title,
            'class': type(model).__name__,
            'expected': shapes(model.state_dict()),
            'modules': [n for n, _ in model.named_modules() if n],
            # BatchNorm fills a missing num_batches_tracked with 0 when the checkpoint has no version metadata
            # (a safetensors file never has); torch then does not report it missing.
            'optional': [f'{n}.num_batches_tracked' for n, m in model.named_modules()
                         if isinstance(m, torch.nn.modules.batchnorm._NormBase) and m.track_running_stats],
            'checkpoint': shapes(sd),
            'strict': outcome(model, sd, True),
            'non_strict': outcome(model, sd, False),
        })
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {
        'dtypes': dtypes_fixture(),
        'metadata': metadata_fixture(),
        'half': half_tables(),
        'optim': optimizer_fixtures(),
        'torch_optim_slots': torch_slot_names(),
    }
    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)
        f.write('\n')
    with open(os.path.join(OUT, 'state_dict_cases.json'), 'w') as f:
        json.dump(state_dict_cases(), f, indent=1)
        f.write('\n')
    for name in sorted(os.listdir(OUT)):
        print(f'{name}: {os.path.getsize(os.path.join(OUT, name))} bytes')


if __name__ == '__main__':
    main()
