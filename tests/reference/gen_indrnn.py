#!/usr/bin/env python3
"""Reference values for the IndRNN recurrence (src/model/indrnn.rs, src/model/ainrnn.rs).

Writes tests/reference/model/indrnn.json, read by tests/model/layers.rs (which never needs Python).
numpy only, float64, pinned in tests/reference/requirements-model.txt:

    /work/venv-ref/bin/python tests/reference/gen_indrnn.py

The recurrence, written out step by step on purpose (no vectorised trick shared with the Rust
code, so the two implementations can disagree):

    h_t = ReLU(W x_t + u * h_{t-1} + b)         at a real step   (mask 1): output h_t
    h_t = h_{t-1}                               at a padded step (mask 0): output 0

Cases:
- single: one layer, a full row, a left-padded row and a row with a gap and right padding,
  u with values on both sides of 1 and negative ones;
- long: 60 steps with u close to the bound 2^(1/T), where errors in carrying the state compound;
- dense_stack: three layers wired densely as in AINRNN (layer l gets [x, h_1 .. h_{l-1}], where
  x = [song embedding, ln(1 + plays)]); expected = every layer's output.
"""
import json
import pathlib

import numpy as np

OUT = pathlib.Path(__file__).resolve().parent / "model" / "indrnn.json"


def f32(a):
    """Round to float32 first, so Rust (f32 inputs) and numpy see the same numbers."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def indrnn(x, mask, w, u, b):
    batch, time, _ = x.shape
    hidden = w.shape[0]
    out = np.zeros((batch, time, hidden))
    for i in range(batch):
        h = np.zeros(hidden)
        for t in range(time):
            if mask[i, t] == 0:
                continue  # state carried over, output stays 0
            pre = np.zeros(hidden)
            for n in range(hidden):
                pre[n] = sum(w[n, k] * x[i, t, k] for k in range(x.shape[2])) + u[n] * h[n] + b[n]
            h = np.maximum(pre, 0.0)
            out[i, t] = h
    return out


def layer(rng, input_dim, hidden, bound, bias_lo=-0.1):
    return {
        "weight_ih": f32(rng.uniform(-0.8, 0.8, (hidden, input_dim))),
        "weight_hh": f32(rng.uniform(-bound, bound, hidden)),
        "bias": f32(rng.uniform(bias_lo, 0.5, hidden)),
    }


def tolist(d):
    return {k: v.tolist() for k, v in d.items()}


def main():
    rng = np.random.default_rng(20180417)  # fixed: the file is committed
    cases = []

    # single layer, three kinds of rows
    x = f32(rng.uniform(-1, 1, (3, 6, 3)))
    x[1, :2] = 5.0  # garbage in the left padding
    x[2, 2] = -7.0  # garbage in the gap
    mask = np.array([[1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1], [1, 1, 0, 1, 1, 0]], dtype=np.float64)
    p = layer(rng, 3, 4, 1.3)
    p["weight_hh"] = f32([1.1, 0.5, -0.7, 0.95])
    cases.append({
        "name": "single",
        "max_len": 6,
        "x": x.tolist(),
        "mask": mask.tolist(),
        "layers": [tolist(p)],
        "expected": [indrnn(x, mask, p["weight_ih"], p["weight_hh"], p["bias"]).tolist()],
    })

    # long sequence, recurrent weights near the bound
    t_long = 60
    bound = 2.0 ** (1.0 / t_long)
    x = f32(rng.uniform(-0.5, 1.0, (1, t_long, 2)))
    mask = np.ones((1, t_long))
    p = layer(rng, 2, 3, 1.0)
    p["weight_hh"] = f32([bound * 0.999, 1.0, 0.9])
    p["bias"] = f32([0.05, 0.0, -0.01])
    cases.append({
        "name": "long",
        "max_len": t_long,
        "x": x.tolist(),
        "mask": mask.tolist(),
        "layers": [tolist(p)],
        "expected": [indrnn(x, mask, p["weight_ih"], p["weight_hh"], p["bias"]).tolist()],
    })

    # dense 3-layer stack over [embedding, ln(1 + plays)]
    item_dim, hidden, n_layers, t = 3, 4, 3, 5
    emb = f32(rng.uniform(-1, 1, (2, t, item_dim)))
    plays = f32(rng.integers(1, 40, (2, t)))
    mask = np.array([[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]], dtype=np.float64)
    xin = np.concatenate([emb, np.log1p(plays * mask)[:, :, None]], axis=2)
    layers, outs = [], []
    for l in range(n_layers):
        inp = np.concatenate([xin] + outs, axis=2)
        # positive biases keep most units of the upper layers active (a dead layer tests nothing)
        p = layer(rng, inp.shape[2], hidden, 1.1, bias_lo=0.2)
        layers.append(tolist(p))
        outs.append(indrnn(inp, mask, p["weight_ih"], p["weight_hh"], p["bias"]))
    cases.append({
        "name": "dense_stack",
        "max_len": 50,
        "item_dim": item_dim,
        "hidden": hidden,
        "x": emb.tolist(),
        "plays": plays.tolist(),
        "mask": mask.tolist(),
        "layers": layers,
        "expected": [o.tolist() for o in outs],
    })

    OUT.parent.mkdir(parents=True, exist_ok=True)
    doc = {"generator": "tests/reference/gen_indrnn.py", "numpy": np.__version__, "cases": cases}
    OUT.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
