"""Golden trajectories for the optimizers of issue 14, from their reference implementations on PyPI.

Writes optim_adaptive/<family>.json next to this script (one file per method family, e.g. swats.json,
dadapt.json), read by crates/core/tests/golden_optim_adaptive.rs and test/optim-adaptive-golden.test.ts. Run from the repository root with the venv of requirements.txt:

    .venv/bin/python test/golden/gen_optim_adaptive.py

Case format (compact: the inputs are generated, not stored):
  name, optimizer (our config type), reference ("package version"), options (our camelCase config),
  tensors: [{name, shape, exclude?, group?}] laid out back to back from offset 0 (n floats in all),
  steps, seed, gradScale (a power of two, so scaling is exact; 1 when absent); grads and initial
  parameters come from the xorshift generator below (the same one as test/helpers.ts `noise`, and float32
  arithmetic only, so every language gets the same bits):
      params0      = noise(n, seed + 1000)
      grad at step t = f32(0.5·noise(n, seed) + noise(n, seed + t)) · gradScale
  checkpoints: step numbers; sample: element indices compared (null: all); params: the parameters at
  each checkpoint (sampled); optionally evalParams (Schedule-Free: after optimizer.eval()), d (the
  reference's d after each checkpoint step: Prodigy, D-Adaptation), trust (LAMB: per-tensor trust
  ratios of the last step), switches (SWATS: per group, the step it switched to SGD at and the rate it
  carried, or null). SWATS groups: a tensor's `group` (default 0) is its reference param_group; ours are
  paramGroups over the tensor names.
Every stored float is the shortest decimal that round-trips its float32 value.
"""
import json
import math
import os
import sys

import numpy as np
import torch


def _foreach_lerp_(xs, ys, weight):  # schedulefree needs it; torch 1.13 has no _foreach_lerp_
    for x, y in zip(xs, ys):
        x.lerp_(y, weight)


torch._foreach_lerp_ = _foreach_lerp_

import dadaptation  # noqa: E402
import lion_pytorch  # noqa: E402
import prodigyopt  # noqa: E402
import schedulefree  # noqa: E402
import torch_optimizer  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim_adaptive")
TORCH = f"torch {torch.__version__.split('a')[0].split('+')[0]}"
VERSIONS = {
    "torch": TORCH,
    "torch-optimizer": "torch-optimizer 0.3.0",
    "lion-pytorch": "lion-pytorch 0.2.5",
    "prodigyopt": "prodigyopt 1.1.2",
    "dadaptation": "dadaptation 3.2",
    "schedulefree": "schedulefree 1.4.1",
}


def noise(n, seed):
    """test/helpers.ts `noise`: xorshift32, (s / 2^32)·2 − 1 in float64, rounded to float32."""
    s = (seed * 2654435761 + 1) & 0xFFFFFFFF
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        out[i] = np.float32((s / 2**32) * 2 - 1)
    return out


def grads(n, seed, steps, scale=1):
    assert scale > 0 and math.frexp(scale)[0] == 0.5, "gradScale must be a power of two (exact in float32)"
    h = noise(n, seed) * np.float32(0.5)
    return [((h + noise(n, seed + t)).astype(np.float32) * np.float32(scale)).astype(np.float32) for t in range(1, steps + 1)]


class F32(float):
    """A float written as the shortest decimal that round-trips its float32 value."""

    def __repr__(self):
        return np.format_float_positional(np.float32(self), unique=True, trim="-") if abs(self) >= 1e-4 or self == 0 else np.format_float_scientific(np.float32(self), unique=True, trim="-")


def enc(a):
    out = [F32(float(x)) for x in np.asarray(a, dtype=np.float32)]
    for x in out:  # JSON.parse + Math.fround (and serde's f64 → f32) must give back the float32 value
        assert np.float32(float(repr(x))) == np.float32(x), repr(x)
    return out


def dumps(o):
    if isinstance(o, F32):
        return repr(o)
    if isinstance(o, float):
        return json.dumps(o)
    if isinstance(o, dict):
        return "{" + ",".join(json.dumps(k) + ":" + dumps(v) for k, v in o.items()) + "}"
    if isinstance(o, (list, tuple)):
        return "[" + ",".join(dumps(v) for v in o) + "]"
    return json.dumps(o)


# --- the references ---------------------------------------------------------------------------------

def make(kind, o, groups):
    """The reference optimizer for our config `o`; `groups` are [{'params': [...], 'exclude': bool}]."""
    b = tuple(o.get("betas", ()))
    plain = [{"params": g["params"]} for g in groups]
    if kind == "radam":
        return [torch.optim.RAdam(plain, lr=o["lr"], betas=b, eps=o["eps"], weight_decay=o["weightDecay"], foreach=False)]
    if kind == "nadam":
        return [torch.optim.NAdam(plain, lr=o["lr"], betas=b, eps=o["eps"], weight_decay=o["weightDecay"],
                                  momentum_decay=o["momentumDecay"], foreach=False)]
    if kind == "adabelief":
        return [torch_optimizer.AdaBelief(plain, lr=o["lr"], betas=b, eps=o["eps"], weight_decay=o["weightDecay"],
                                          amsgrad=o["amsgrad"], weight_decouple=o["weightDecouple"],
                                          fixed_decay=o["fixedDecay"], rectify=o["rectify"])]
    if kind == "lion":
        return [lion_pytorch.Lion(plain, lr=o["lr"], betas=b, weight_decay=o["weightDecay"],
                                  decoupled_weight_decay=o["decoupledWeightDecay"])]
    if kind == "lamb":
        # torch-optimizer's Lamb has no per-group exclusion: the excluded tensors get a second instance with
        # trust ratio 1 (adam=True) and no weight decay, which is what excluding them means (per-tensor
        # steps are independent, so two instances equal one with per-group flags).
        kw = dict(lr=o["lr"], betas=b, eps=o["eps"], clamp_value=o["clampValue"], debias=o["debias"])
        out = [torch_optimizer.Lamb(groups[0]["params"], weight_decay=o["weightDecay"], adam=o["adam"], **kw)]
        if len(groups) > 1:
            out.append(torch_optimizer.Lamb(groups[1]["params"], weight_decay=0, adam=True, **kw))
        return out
    if kind == "lars":
        # torch-optimizer's own exclusion: a parameter group with weight_decay 0 skips the trust ratio.
        pg = [{"params": groups[0]["params"]}] + [{"params": g["params"], "weight_decay": 0} for g in groups[1:]]
        return [torch_optimizer.LARS(pg, lr=o["lr"], momentum=o["momentum"], dampening=o["dampening"],
                                     weight_decay=o["weightDecay"], nesterov=o["nesterov"],
                                     trust_coefficient=o["trustCoefficient"], eps=o["eps"])]
    if kind == "swats":
        return [torch_optimizer.SWATS(plain, lr=o["lr"], betas=b, eps=o["eps"], weight_decay=o["weightDecay"], amsgrad=o["amsgrad"],
                                      nesterov=o["nesterov"])]
    if kind == "prodigy":
        return [prodigyopt.Prodigy(plain, lr=o["lr"], betas=b, beta3=o["beta3"], eps=o["eps"], weight_decay=o["weightDecay"],
                                   decouple=o["decouple"], use_bias_correction=o["useBiasCorrection"],
                                   safeguard_warmup=o["safeguardWarmup"], d0=o["d0"], d_coef=o["dCoef"], growth_rate=o["growthRate"])]
    if kind == "dadapt_adam":
        return [dadaptation.DAdaptAdam(plain, lr=o["lr"], betas=b, eps=o["eps"], weight_decay=o["weightDecay"], decouple=o["decouple"],
                                       use_bias_correction=o["useBiasCorrection"], d0=o["d0"], growth_rate=o["growthRate"])]
    if kind == "dadapt_sgd":
        return [dadaptation.DAdaptSGD(plain, lr=o["lr"], momentum=o["momentum"], weight_decay=o["weightDecay"], d0=o["d0"],
                                      growth_rate=o["growthRate"])]
    if kind == "dadapt_adagrad":
        return [dadaptation.DAdaptAdaGrad(plain, lr=o["lr"], momentum=o["momentum"], weight_decay=o["weightDecay"], eps=o["eps"],
                                          d0=o["d0"], growth_rate=o["growthRate"])]
    if kind == "schedulefree_adamw":
        o_ = schedulefree.AdamWScheduleFree(plain, lr=o["lr"], betas=b, eps=o["eps"], weight_decay=o["weightDecay"],
                                            warmup_steps=o["warmupSteps"], r=o["r"], weight_lr_power=o["weightLrPower"])
        o_.train()
        return [o_]
    if kind == "schedulefree_sgd":
        o_ = schedulefree.SGDScheduleFree(plain, lr=o["lr"], momentum=o["momentum"], weight_decay=o["weightDecay"],
                                          warmup_steps=o["warmupSteps"], r=o["r"], weight_lr_power=o["weightLrPower"])
        o_.train()
        return [o_]
    raise KeyError(kind)


def case(name, kind, pkg, o, shapes=None, steps=60, seed=1, exclude=(), sample=None, extra=None, grad_scale=1, groups=None,
         checkpoints=(), dtype=torch.float32, replay=None):
    """Runs the reference and records the trajectory. `shapes`: the tensors' shapes (default one [11]);
    `groups`: each tensor's param_group (SWATS); `replay(opts)` is called after every step (SWATS: to see
    its switches)."""
    shapes = shapes or [[11]]
    names = [f"t{i}" for i in range(len(shapes))]
    sizes = [int(np.prod(s)) for s in shapes]
    n = sum(sizes)
    p0 = noise(n, seed + 1000)
    gs = grads(n, seed, steps, grad_scale)
    offs = np.cumsum([0] + sizes)
    params = [torch.nn.Parameter(torch.tensor(p0[offs[i]:offs[i + 1]], dtype=dtype).reshape(shapes[i])) for i in range(len(shapes))]
    excl = [i for i in range(len(shapes)) if names[i] in exclude]
    if groups:
        pgroups = [{"params": [params[i] for i in range(len(shapes)) if groups[i] == k], "exclude": False} for k in range(max(groups) + 1)]
    else:
        pgroups = [{"params": [params[i] for i in range(len(shapes)) if i not in excl], "exclude": False}]
        if excl:
            pgroups.append({"params": [params[i] for i in excl], "exclude": True})
    opts = make(kind, o, pgroups)
    checkpoints = sorted(set([1, 2, 10, 30, steps] + [c for c in checkpoints if 1 <= c <= steps]))
    out = {"params": [], **({k: [] for k in extra} if extra else {})}
    for t in range(1, steps + 1):
        for i, p in enumerate(params):
            p.grad = torch.tensor(gs[t - 1][offs[i]:offs[i + 1]], dtype=dtype).reshape(shapes[i]).clone()
        for opt in opts:
            opt.step()
        if replay:
            replay(t, opts)
        if t in checkpoints:
            flat = torch.cat([p.detach().reshape(-1) for p in params]).numpy().copy()
            out["params"].append(enc(flat if sample is None else flat[sample]))
            for k, f in (extra or {}).items():
                v = f(opts, params)
                out[k].append(enc(v if sample is None else v[sample]) if isinstance(v, np.ndarray) else v)
    tensors = [{"name": names[i], "shape": list(shapes[i]), **({"exclude": True} if i in excl else {}),
                **({"group": groups[i]} if groups and groups[i] else {})} for i in range(len(shapes))]
    # JSON has no ∞: an infinite option (growthRate) is left out, meaning our default ∞.
    stored = {k: v for k, v in o.items() if v != float("inf")}
    return {"name": name, "optimizer": kind, "reference": VERSIONS[pkg], "options": stored, "tensors": tensors, "n": n,
            "steps": steps, "seed": seed, **({"gradScale": grad_scale} if grad_scale != 1 else {}), "checkpoints": checkpoints,
            "sample": sample, **out}


def swats_case(name, o, steps=60, **kw):
    """A SWATS case whose switch happens inside the trajectory: the reference's switches (per group: step and
    carried rate), checked against its own float64 run (the switch test compares to 1e-6, so a switch that
    float32 rounding could move is no golden), with checkpoints around each switch (the last Adam step,
    the switch step, and the first two SGD steps, where the in-place buffer quirks show)."""
    def switches(dtype):
        seen = {}

        def replay(t, opts):
            for k, g in enumerate(opts[0].param_groups):
                if g["phase"] == "SGD" and k not in seen:
                    seen[k] = (t, g["lr"])
        case(name, "swats", "torch-optimizer", o, steps=steps, dtype=dtype, replay=replay, **kw)
        ngroups = max(kw.get("groups") or [0]) + 1
        return [seen.get(k) for k in range(ngroups)]
    s32, s64 = switches(torch.float32), switches(torch.float64)
    assert [s and s[0] for s in s32] == [s and s[0] for s in s64], f"{name}: float32 switches {s32}, float64 {s64}"
    for a, b in zip(s32, s64):
        # The reference keeps λ in float32: its carried rate is ~1e-6 from its own float64 run's, inside the tests' 1e-5.
        assert a is None or abs(a[1] - b[1]) <= 1e-5 * b[1], f"{name}: carried rates {a} vs {b} (float64)"
    assert any(s and 5 <= s[0] <= steps - 20 for s in s32), f"{name}: no switch inside the trajectory: {s32}"
    near = [s[0] + d for s in s32 if s for d in (-1, 0, 1, 2)]
    c = case(name, "swats", "torch-optimizer", o, steps=steps, checkpoints=near, **kw)
    c["switches"] = [s and {"step": s[0], "rate": s[1]} for s in s32]
    return c


LONG = [5003]  # several reduction chunks (4096) and a ragged SIMD tail
LONG_SAMPLE = sorted(set(list(range(0, 5003, 199)) + [4095, 4096, 4097, 5000, 5001, 5002]))


def build():
    cases = []
    radam = {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weightDecay": 0}
    cases += [
        case("radam_defaults", "radam", "torch", radam),
        case("radam_fast_beta2_wd", "radam", "torch", {**radam, "lr": 0.01, "betas": [0.8, 0.9], "weightDecay": 0.1}, seed=2),
        case("radam_long", "radam", "torch", {**radam, "lr": 0.01, "betas": [0.9, 0.99]}, shapes=[LONG], seed=3, sample=LONG_SAMPLE),
    ]
    nadam = {"lr": 2e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weightDecay": 0, "momentumDecay": 4e-3}
    cases += [
        case("nadam_defaults", "nadam", "torch", nadam),
        case("nadam_wd_momentum_decay", "nadam", "torch", {**nadam, "lr": 0.01, "betas": [0.8, 0.95], "weightDecay": 0.05, "momentumDecay": 0.02}, seed=4),
        case("nadam_long", "nadam", "torch", nadam, shapes=[LONG], seed=5, sample=LONG_SAMPLE),
    ]
    ab = {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weightDecay": 0, "amsgrad": False, "weightDecouple": False,
          "fixedDecay": False, "rectify": False}
    cases += [
        case("adabelief_defaults", "adabelief", "torch-optimizer", ab),
        case("adabelief_amsgrad_wd", "adabelief", "torch-optimizer", {**ab, "lr": 0.01, "amsgrad": True, "weightDecay": 0.1}, seed=6),
        case("adabelief_decoupled_rectify", "adabelief", "torch-optimizer", {**ab, "lr": 0.01, "weightDecay": 0.1, "weightDecouple": True, "rectify": True, "betas": [0.9, 0.9]}, seed=7),
        case("adabelief_fixed_decay", "adabelief", "torch-optimizer", {**ab, "lr": 0.01, "weightDecay": 0.01, "weightDecouple": True, "fixedDecay": True, "eps": 1e-6}, seed=8),
        case("adabelief_long", "adabelief", "torch-optimizer", {**ab, "lr": 0.01, "rectify": True}, shapes=[LONG], seed=9, sample=LONG_SAMPLE),
    ]
    lion = {"lr": 1e-4, "betas": [0.9, 0.99], "weightDecay": 0, "decoupledWeightDecay": False}
    cases += [
        case("lion_defaults", "lion", "lion-pytorch", lion),
        case("lion_wd", "lion", "lion-pytorch", {**lion, "lr": 3e-3, "betas": [0.95, 0.98], "weightDecay": 0.5}, seed=10),
        case("lion_decoupled_wd", "lion", "lion-pytorch", {**lion, "lr": 3e-3, "weightDecay": 1e-3, "decoupledWeightDecay": True}, seed=11),
        case("lion_long", "lion", "lion-pytorch", {**lion, "lr": 1e-3}, shapes=[LONG], seed=12, sample=LONG_SAMPLE),
    ]
    layers = [[5, 7], [5], [3, 5], [3]]  # weights and biases; the biases (1-D) are excluded
    lamb = {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-6, "weightDecay": 0, "clampValue": 10, "adam": False, "debias": False}
    trust = {"trust": lamb_trust}
    cases += [
        case("lamb_defaults", "lamb", "torch-optimizer", lamb, shapes=layers, exclude=["t1", "t3"], extra=trust, seed=13),
        case("lamb_wd_debias", "lamb", "torch-optimizer", {**lamb, "lr": 0.01, "weightDecay": 0.01, "debias": True, "betas": [0.8, 0.99]},
             shapes=layers, exclude=["t1", "t3"], extra=trust, seed=14),
        case("lamb_clamp_no_exclusion", "lamb", "torch-optimizer", {**lamb, "lr": 0.01, "clampValue": 1.0, "weightDecay": 0.1},
             shapes=layers, extra=trust, seed=15),
        case("lamb_adam", "lamb", "torch-optimizer", {**lamb, "lr": 0.01, "adam": True, "eps": 1e-8}, shapes=layers, exclude=["t1", "t3"], seed=16),
        case("lamb_long", "lamb", "torch-optimizer", {**lamb, "lr": 0.01, "weightDecay": 0.01}, shapes=[[61, 83], [61]], exclude=["t1"],
             extra=trust, seed=17, sample=LONG_SAMPLE),
    ]
    lars = {"lr": 1e-2, "momentum": 0, "dampening": 0, "weightDecay": 0, "nesterov": False, "trustCoefficient": 0.01, "eps": 1e-8}
    cases += [
        case("lars_defaults", "lars", "torch-optimizer", lars, shapes=layers, exclude=["t1", "t3"], seed=18),
        case("lars_wd_momentum", "lars", "torch-optimizer", {**lars, "lr": 0.1, "weightDecay": 0.01, "momentum": 0.9, "dampening": 0.1},
             shapes=layers, exclude=["t1", "t3"], seed=19),
        case("lars_nesterov_trust", "lars", "torch-optimizer", {**lars, "lr": 0.5, "weightDecay": 5e-4, "momentum": 0.9, "nesterov": True,
             "trustCoefficient": 0.001, "eps": 1e-6}, shapes=layers, seed=20),
        case("lars_long", "lars", "torch-optimizer", {**lars, "lr": 0.1, "weightDecay": 1e-3, "momentum": 0.9}, shapes=[[61, 83], [61]],
             exclude=["t1"], seed=21, sample=LONG_SAMPLE),
    ]
    # SWATS: gradients ×1024 make the projected SGD rate small (γ ~ 1e-6), where the reference's switch test
    # (allclose: atol 1e-8 + rtol 1e-6) can pass, and the SGD phase still moves p by ~1e-3 a step. Seeds
    # picked so the switch lands mid-trajectory (swats_case asserts it, and that float64 agrees).
    sw = {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-3, "weightDecay": 0, "amsgrad": False, "nesterov": False}
    big = 1024
    cases += [
        swats_case("swats_defaults", sw, grad_scale=big, seed=45),
        # t1 (the 5-float bias) switches the group at step 18: t0 and t1 took Adam that step, t2 and t3 SGD.
        swats_case("swats_layers", sw, shapes=layers, grad_scale=big, seed=55),
        # Two groups, each switching on its own (group 1 at step 26, group 0 at 33).
        swats_case("swats_two_groups", {**sw, "lr": 2e-3}, shapes=layers, groups=[0, 1, 0, 1], grad_scale=big, seed=56),
        swats_case("swats_nesterov_wd", {**sw, "nesterov": True, "weightDecay": 200}, shapes=layers, grad_scale=big, seed=51),
        swats_case("swats_amsgrad", {**sw, "amsgrad": True, "betas": [0.8, 0.99], "eps": 1e-8}, shapes=layers, grad_scale=big, seed=45),
        # 5003 floats: γ is steady over that many, and the switch is a stabilisation (step 28) rather than chance.
        swats_case("swats_long", sw, shapes=[LONG], grad_scale=big, seed=49, sample=LONG_SAMPLE),
    ]
    d = {"d": lambda opts, params: float(opts[0].param_groups[0]["d"])}
    inf = float("inf")
    prodigy = {"lr": 1.0, "betas": [0.9, 0.999], "beta3": None, "eps": 1e-8, "weightDecay": 0, "decouple": True,
               "useBiasCorrection": False, "safeguardWarmup": False, "d0": 1e-6, "dCoef": 1.0, "growthRate": inf}
    cases += [
        case("prodigy_defaults", "prodigy", "prodigyopt", prodigy, extra=d, seed=22),
        case("prodigy_bias_correction_safeguard", "prodigy", "prodigyopt", {**prodigy, "useBiasCorrection": True, "safeguardWarmup": True,
             "beta3": 0.99, "dCoef": 0.5, "d0": 1e-3}, extra=d, seed=23),
        case("prodigy_coupled_wd_growth", "prodigy", "prodigyopt", {**prodigy, "decouple": False, "weightDecay": 0.1, "growthRate": 1.02,
             "d0": 1e-4, "betas": [0.0, 0.99]}, extra=d, seed=24),
        {**case("prodigy_decoupled_wd", "prodigy", "prodigyopt", {**prodigy, "weightDecay": 0.01, "lr": 0.5, "eps": 1e-6}, shapes=[[5, 7], [5]],
                extra=d, seed=25),
         # Not float32-stable: the reference's own float32 and float64 runs differ by 5.6e-4 by step 50 here.
         "rtol": 1e-4, "rtolReason": "prodigyopt's own float32 and float64 runs differ by 5.6e-4 (d feeds back)"},
        # The long cases bound d's growth: with growth_rate ∞ this drift problem (gradients that never shrink) grows d to ~600
        # by step 40, where the reference's own float32 and float64 runs differ by 1.1e-4 (its float32 dot and
        # sum feed d): not a float32-stable trajectory to hold anyone to 1e-5.
        case("prodigy_long", "prodigy", "prodigyopt", {**prodigy, "growthRate": 1.05, "d0": 1e-2}, shapes=[LONG], extra=d, seed=26, sample=LONG_SAMPLE),
    ]
    da = {"lr": 1.0, "betas": [0.9, 0.999], "eps": 1e-8, "weightDecay": 0, "decouple": False, "useBiasCorrection": False, "d0": 1e-6,
          "growthRate": inf}
    cases += [
        case("dadapt_adam_defaults", "dadapt_adam", "dadaptation", da, extra=d, seed=27),
        case("dadapt_adam_decoupled_bias_correction", "dadapt_adam", "dadaptation", {**da, "decouple": True, "weightDecay": 0.01,
             "useBiasCorrection": True, "growthRate": 1.1, "d0": 1e-3}, shapes=[[5, 7], [5]], extra=d, seed=28),
        case("dadapt_adam_coupled_wd", "dadapt_adam", "dadaptation", {**da, "weightDecay": 0.1, "lr": 0.5, "d0": 1e-5, "betas": [0.8, 0.99]},
             extra=d, seed=29),
        case("dadapt_adam_long", "dadapt_adam", "dadaptation", {**da, "growthRate": 1.05, "d0": 1e-2}, shapes=[LONG], extra=d, seed=30, sample=LONG_SAMPLE),
    ]
    ds = {"lr": 1.0, "momentum": 0.0, "weightDecay": 0, "d0": 1e-6, "growthRate": inf}
    cases += [
        case("dadapt_sgd_defaults", "dadapt_sgd", "dadaptation", ds, extra=d, seed=31),
        case("dadapt_sgd_momentum_wd", "dadapt_sgd", "dadaptation", {**ds, "momentum": 0.9, "weightDecay": 0.01, "growthRate": 1.1},
             shapes=[[5, 7], [5]], extra=d, seed=32),
        case("dadapt_sgd_long", "dadapt_sgd", "dadaptation", {**ds, "momentum": 0.5, "growthRate": 1.05, "d0": 1e-2}, shapes=[LONG], extra=d, seed=33, sample=LONG_SAMPLE),
    ]
    dg = {"lr": 1.0, "momentum": 0.0, "weightDecay": 0, "eps": 1e-6, "d0": 1e-6, "growthRate": inf}
    cases += [
        case("dadapt_adagrad_defaults", "dadapt_adagrad", "dadaptation", dg, extra=d, seed=34),
        case("dadapt_adagrad_momentum_wd", "dadapt_adagrad", "dadaptation", {**dg, "momentum": 0.9, "weightDecay": 0.01, "eps": 1e-4,
             "growthRate": 1.1, "d0": 1e-3}, shapes=[[5, 7], [5]], extra=d, seed=35),
        case("dadapt_adagrad_long", "dadapt_adagrad", "dadaptation", {**dg, "growthRate": 1.05, "d0": 1e-2}, shapes=[LONG], extra=d, seed=36, sample=LONG_SAMPLE),
    ]
    # Schedule-Free: at every checkpoint the reference's optimizer.eval() gives evalParams (x), then
    # optimizer.train() swaps back before the next step; the replay does the same through eval()/train().
    ev = {"evalParams": eval_params}
    sfa = {"lr": 0.0025, "betas": [0.9, 0.999], "eps": 1e-8, "weightDecay": 0, "warmupSteps": 0, "r": 0.0, "weightLrPower": 2.0}
    cases += [
        case("schedulefree_adamw_defaults", "schedulefree_adamw", "schedulefree", sfa, extra=ev, seed=37),
        case("schedulefree_adamw_warmup_wd_r", "schedulefree_adamw", "schedulefree", {**sfa, "lr": 0.01, "warmupSteps": 10, "weightDecay": 0.1,
             "r": 1.0, "weightLrPower": 1.0, "betas": [0.95, 0.99]}, shapes=[[5, 7], [5]], extra=ev, seed=38),
        case("schedulefree_adamw_long", "schedulefree_adamw", "schedulefree", {**sfa, "lr": 0.01}, shapes=[LONG], extra=ev, seed=39,
             sample=LONG_SAMPLE),
    ]
    sfs = {"lr": 1.0, "momentum": 0.9, "weightDecay": 0, "warmupSteps": 0, "r": 0.0, "weightLrPower": 2.0}
    cases += [
        case("schedulefree_sgd_defaults", "schedulefree_sgd", "schedulefree", {**sfs, "lr": 0.1}, extra=ev, seed=40),
        case("schedulefree_sgd_warmup_wd", "schedulefree_sgd", "schedulefree", {**sfs, "lr": 0.05, "momentum": 0.8, "warmupSteps": 5,
             "weightDecay": 0.01, "r": 0.5}, shapes=[[5, 7], [5]], extra=ev, seed=41),
        case("schedulefree_sgd_long", "schedulefree_sgd", "schedulefree", {**sfs, "lr": 0.05}, shapes=[LONG], extra=ev, seed=42,
             sample=LONG_SAMPLE),
    ]
    return cases


def eval_params(opts, params):
    """The reference's optimizer.eval() weights (x), then optimizer.train() back to y."""
    opts[0].eval()
    x = torch.cat([p.detach().reshape(-1) for p in params]).numpy().copy()
    opts[0].train()
    return x


def lamb_trust(opts, params):
    """The trust ratio each tensor's last step applied (1 for the excluded ones)."""
    out = []
    for p in params:
        st = opts[0].state.get(p)
        out.append(F32(float(st["trust_ratio"])) if st is not None and "trust_ratio" in st and not opts[0].adam else F32(1.0))
    return out


if __name__ == "__main__":
    torch.set_num_threads(1)
    cases = build()
    families = {}
    for c in cases:
        families.setdefault(c["optimizer"].split("_")[0], []).append(c)
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        if old.endswith(".json") and old[:-5] not in families:
            os.remove(os.path.join(OUT, old))
    total = 0
    for fam, cs in families.items():
        text = dumps({"generator": "test/golden/gen_optim_adaptive.py", "cases": cs}) + "\n"
        json.loads(text)
        with open(os.path.join(OUT, f"{fam}.json"), "w") as fh:
            fh.write(text)
        total += len(text)
        print(f"wrote {fam}.json ({len(text)} bytes, {len(cs)} cases)")
    print(f"{len(cases)} cases, {total} bytes in {OUT}")
