#!/usr/bin/python3
"""Float64 oracle for the LMU maths, committed as lmu_oracle.json beside this script.

Written from the equations (the README's "The LMU in one paragraph"), not from Lmu.MLNet's code, so that the C# tests
compare the library with an independent computation that every clone has. The JSON schema is that of the shared
oracle (../shared/reference/lmu_reference.json), so one loader reads both; the extra top-level key "generator" names
this script.

    /usr/bin/python3 Lmu.MLNet.Tests/Oracle/generate_oracle.py            # rewrite lmu_oracle.json (deterministic)
    /usr/bin/python3 Lmu.MLNet.Tests/Oracle/generate_oracle.py --check    # also recompute every case of the shared
                                                                          # oracle here and print the differences
    /usr/bin/python3 Lmu.MLNet.Tests/Oracle/generate_oracle.py --output PATH   # write elsewhere (the C# test that
                                                                               # regenerates and compares uses this)

Needs numpy and scipy (Debian: apt-get install python3-numpy python3-scipy). Random weights come from numpy's legacy
RandomState, whose streams are frozen, so the output does not change with the numpy version; ZOH goes through
scipy.linalg.expm, which may move a last bit between scipy versions (the tests allow 1e-10 and more).

Conventions (shared with the C# tests):
  continuous  A[i,j] = (2i+1) * (-1 if i < j else (-1)^(i-j+1)),  B[i] = (2i+1) (-1)^i,  theta dm/dt = A m + B u
  zoh         expm([[A/theta, B/theta], [0, 0]]) = [[Ad, Bd], [0, 1]]  (dt = 1)
  euler       Ad = I + A/theta,  Bd = B/theta
  impulse     H[tau] = Ad^tau Bd, tau = 0..T-1 (H[0] = Bd: the impulse is in the memory at once)
  decoders    u(t - r theta) ~ sum_i Ps_i(r) m_t[i], Ps_i the shifted Legendre polynomial (exact rational arithmetic
              here), and the worst error of that estimate on a sine for t >= 400
  forward     zero initial state; for t = 0..T-1:
                u_t = x_t e_x + b_u [+ h_{t-1} e_h if hidden_to_memory] [+ flat(m_{t-1}) e_m if memory_to_memory]
                m_t[k, :] = Ad m_{t-1}[k, :] + Bd u_t[k]          (memory channel-major: flat index k*q + i)
                h_t = tanh(flat(m_t) W_hm + h_{t-1} W_hh + b_h [+ x_t W_hx if input_to_hidden])   ("tanh(dense)")
              weights are stored as "x times W" matrices: e_x [input_d, memory_d], e_h [units, memory_d],
              e_m [memory_d*order, memory_d], W_hm [memory_d*order, units], W_hh [units, units], W_hx [input_d, units];
              "memory" is flat(m_t) and "hidden_out" is h_t at every step.
"""

import json
import math
import os
import re
import sys
from fractions import Fraction

import numpy as np
import scipy.linalg
import scipy.special

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "lmu_oracle.json")

# Discrete cases: the first five (order, theta) pairs are also in the shared oracle (so the two can be compared), the
# rest are this oracle's own, among them a stiff one (order 6, theta 1) and a long window (order 32, theta 784).
DISCRETE = [(1, 1.0), (2, 5.0), (4, 10.0), (8, 7.5), (12, 100.0), (6, 1.0), (16, 33.0), (32, 784.0)]

# Impulse responses (order, theta, method, length): an Euler one as well as ZOH.
IMPULSE = [(2, 5.0, "zoh", 40), (4, 10.0, "zoh", 60), (12, 100.0, "zoh", 150), (6, 12.0, "euler", 50)]

# Decoder cases (order, theta, r, period, steps): a sine of the given period, t = 0..steps-1, error taken for t >= 400.
DECODERS = [(12, 100.0, r, 250, 1000) for r in (0.0, 0.25, 0.5, 0.75, 1.0)] + [(8, 60.0, 0.4, 180, 800)]

# Forward passes. The tests rely on the order of the option sets: entries 0 and 1 feed the memory back (hidden and
# memory to memory), entries 2 and 3 do not (so they also have a parallel form). Sizes differ from case to case so
# that a swapped dimension cannot pass.
FORWARD = [
    dict(method="zoh", order=5, theta=9.0, memory_d=2, input_d=3, units=4, h2m=True, m2m=True, i2h=True, seed=11),
    dict(method="euler", order=3, theta=25.0, memory_d=3, input_d=2, units=2, h2m=True, m2m=True, i2h=True, seed=12),
    dict(method="zoh", order=6, theta=7.0, memory_d=2, input_d=1, units=3, h2m=False, m2m=False, i2h=True, seed=13),
    dict(method="zoh", order=4, theta=5.5, memory_d=1, input_d=2, units=3, h2m=False, m2m=False, i2h=False, seed=14),
]
FORWARD_STEPS = 16

# Orders whose Euler stability bound is recorded: min theta = max over the eigenvalues lambda of A of
# |lambda|^2 / (2 |Re lambda|), where |1 + lambda/theta| = 1. LAPACK's eigenvalues (numpy), independent of the
# library's own QR iteration. Up to order 64: at 96 and 128 LAPACK's answer moved by 1e-10 relative between one and two
# BLAS threads, past the 1e-13 at which a regeneration must reproduce this file (the library's test covers larger
# orders against the stability of Ad itself).
EULER_ORDERS = list(range(1, 41)) + [48, 64]


def continuous(q):
    a = np.empty((q, q))
    for i in range(q):
        for j in range(q):
            a[i, j] = (2 * i + 1) * (-1.0 if i < j else (-1.0) ** (i - j + 1))
    b = np.array([(2 * i + 1) * (-1.0) ** i for i in range(q)])
    return a, b


def discretise(q, theta, method):
    a, b = continuous(q)
    if method == "euler":
        return np.eye(q) + a / theta, b / theta
    if method != "zoh":
        raise ValueError(method)
    m = np.zeros((q + 1, q + 1))
    m[:q, :q] = a / theta
    m[:q, q] = b / theta
    e = scipy.linalg.expm(m)
    return e[:q, :q].copy(), e[:q, q].copy()


def impulse(q, theta, method, steps):
    ad, bd = discretise(q, theta, method)
    h = np.empty((steps, q))
    v = bd.copy()
    for tau in range(steps):
        h[tau] = v
        v = ad @ v
    return h


def shifted_legendre(q, r):
    """Ps_i(r) = P_i(2r - 1) = sum_k (-1)^(i+k) C(i,k) C(i+k,k) r^k, summed exactly in rationals, then rounded once."""
    x = Fraction(r)  # exact for binary fractions such as 0.25 and 0.4's float64 value
    out = []
    for i in range(q):
        s = sum((-1) ** (i + k) * math.comb(i, k) * math.comb(i + k, k) * x ** k for k in range(i + 1))
        out.append(float(s))
    return np.array(out)


def sine_decoding_error(q, theta, r, period, steps, skip=400):
    ad, bd = discretise(q, theta, "zoh")
    c = shifted_legendre(q, r)
    m = np.zeros(q)
    worst = 0.0
    for t in range(steps):
        m = ad @ m + bd * math.sin(2 * math.pi * t / period)
        if t >= skip:
            worst = max(worst, abs(c @ m - math.sin(2 * math.pi * (t - r * theta) / period)))
    return worst


def forward_pass(case, w, x):
    q, d, units = case["order"], case["memory_d"], case["units"]
    ad, bd = discretise(q, case["theta"], case["method"])
    m = np.zeros((d, q))
    h = np.zeros(units)
    memory, hidden = [], []
    for xt in x:
        u = xt @ w["e_x"] + w["b_u"]
        if case["hidden_to_memory"]:
            u = u + h @ w["e_h"]
        if case["memory_to_memory"]:
            u = u + m.reshape(-1) @ w["e_m"]
        m = m @ ad.T + np.outer(u, bd)  # row k: Ad m[k] + Bd u[k]
        z = m.reshape(-1) @ w["W_hm"] + h @ w["W_hh"] + w["b_h"]
        if case["input_to_hidden"]:
            z = z + xt @ w["W_hx"]
        h = np.tanh(z)
        memory.append(m.reshape(-1).copy())
        hidden.append(h.copy())
    return np.array(memory), np.array(hidden)


def forward_case(spec):
    rng = np.random.RandomState(spec["seed"])
    q, d, n, units = spec["order"], spec["memory_d"], spec["input_d"], spec["units"]

    def glorot(rows, cols):
        limit = math.sqrt(6.0 / (rows + cols))
        return rng.uniform(-limit, limit, size=(rows, cols))

    # Every weight is drawn, used or not, so each case has the full schema (the unused ones are simply not read).
    w = {
        "e_x": glorot(n, d),
        "e_h": glorot(units, d),
        "e_m": glorot(d * q, d) * 0.5,
        "b_u": rng.uniform(-0.1, 0.1, size=d),
        "W_hm": glorot(d * q, units),
        "W_hh": glorot(units, units),
        "W_hx": glorot(n, units),
        "b_h": rng.uniform(-0.1, 0.1, size=units),
    }
    x = rng.standard_normal(size=(FORWARD_STEPS, n))
    case = {
        "method": spec["method"], "order": q, "theta": spec["theta"], "memory_d": d, "input_d": n, "units": units,
        "hidden_to_memory": spec["h2m"], "memory_to_memory": spec["m2m"], "input_to_hidden": spec["i2h"],
        "hidden": "tanh(dense)",
    }
    memory, hidden = forward_pass(case, w, x)
    case.update(weights=w, x=x, memory=memory, hidden_out=hidden)
    return case


def build():
    oracle = {
        "about": "float64 oracle made by Lmu.MLNet.Tests/Oracle/generate_oracle.py (numpy + scipy); ZOH via "
                 "scipy.linalg.expm of the augmented matrix, decoders in exact rationals; see 'equations'",
        "generator": "Lmu.MLNet.Tests/Oracle/generate_oracle.py",
        "equations": {
            "continuous": "A[i,j]=(2i+1)*(-1 if i<j else (-1)^(i-j+1)); B[i]=(2i+1)*(-1)^i; system theta*dm/dt = A m + B u",
            "zoh": "[[Ad, Bd], [0, 1]] = expm([[A/theta, B/theta], [0, 0]]) (dt=1)",
            "euler": "Ad=I+A/theta, Bd=B/theta",
            "impulse": "H[tau]=Ad^tau Bd, tau=0..T-1 (H[0]=Bd: no extra delay)",
            "cell": "u_t = x_t e_x + b_u [+ h_{t-1} e_h if h2m] [+ flat(m_{t-1}) e_m if m2m]; "
                    "m_t[k,:] = Ad m_{t-1}[k,:] + Bd u_t[k]; flat index k*q+i; "
                    "h_t = tanh(flat(m_t) W_hm + h_{t-1} W_hh + b_h [+ x_t W_hx if i2h]); zero initial state",
            "decode": "u_{t - r*theta} ~ sum_i c_i(r) m_t[i] with c_i(r) = Ps_i(r) = P_i(2r-1), the shifted Legendre "
                      "polynomial of degree i, 0<=r<=1",
            "euler_min_theta": "max over the eigenvalues lambda of A of |lambda|^2 / (2 |Re lambda|): the smallest theta "
                               "with every |1 + lambda/theta| <= 1, below which Euler's memory grows (numpy.linalg.eigvals)",
        },
        "continuous": {},
        "discrete": [],
        "impulse": [],
        "decoders": [],
        "forward": [],
        "euler_min_theta": [],
    }
    for q in (1, 2, 3, 4, 8):
        a, b = continuous(q)
        oracle["continuous"][str(q)] = {"A": a, "B": b}
    for q, theta in DISCRETE:
        for method in ("zoh", "euler"):
            ad, bd = discretise(q, theta, method)
            oracle["discrete"].append({"order": q, "theta": theta, "method": method, "Ad": ad, "Bd": bd})
    for q, theta, method, steps in IMPULSE:
        oracle["impulse"].append({"order": q, "theta": theta, "method": method, "H": impulse(q, theta, method, steps)})
    for q, theta, r, period, steps in DECODERS:
        c = shifted_legendre(q, r)
        # The exact sum and scipy's recurrence must agree: a guard on this script, not on the library.
        assert np.max(np.abs(c - scipy.special.eval_sh_legendre(np.arange(q), r))) < 1e-12, (q, r)
        oracle["decoders"].append({
            "order": q, "theta": theta, "r": r, "coefficients": c,
            "signal": f"u[t]=sin(2*pi*t/{period}), t=0..{steps - 1}",
            "max_abs_error_t>=400": sine_decoding_error(q, theta, r, period, steps),
        })
    for spec in FORWARD:
        oracle["forward"].append(forward_case(spec))
    for q in EULER_ORDERS:
        oracle["euler_min_theta"].append({"order": q, "min_theta": euler_min_theta(q)})
    return oracle


def euler_min_theta(q):
    a, _ = continuous(q)
    lam = np.linalg.eigvals(a)
    assert np.all(lam.real < 0), q
    return float(np.max(np.abs(lam) ** 2 / (-2 * lam.real)))


def to_json(oracle):
    def plain(v):
        if isinstance(v, np.ndarray):
            return v.tolist()
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, list):
            return [plain(x) for x in v]
        if isinstance(v, (np.floating, np.integer, np.bool_)):
            return v.item()
        return v

    text = json.dumps(plain(oracle), indent=1, allow_nan=False)
    # One line per innermost array of numbers (matrix row or vector): small, yet still line-diffable.
    number = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
    text = re.sub(r"\[\s*(" + number + r"(?:,\s*" + number + r")*)\s*\]",
                  lambda m: "[" + re.sub(r",\s*", ", ", m.group(1)) + "]", text)
    return text + "\n"


def check_against(path):
    """Recomputes every case of another oracle with this script's equations; returns the worst difference per part."""
    with open(path, encoding="utf-8") as f:
        other = json.load(f)
    worst = {}

    def note(part, expected, actual):
        diff = float(np.max(np.abs(np.asarray(expected, dtype=float) - np.asarray(actual, dtype=float)), initial=0.0))
        worst[part] = max(worst.get(part, 0.0), diff)

    for q, c in other["continuous"].items():
        a, b = continuous(int(q))
        note("continuous", c["A"], a)
        note("continuous", c["B"], b)
    for c in other["discrete"]:
        ad, bd = discretise(c["order"], c["theta"], c["method"])
        note("discrete " + c["method"], c["Ad"], ad)
        note("discrete " + c["method"], c["Bd"], bd)
    for c in other["impulse"]:
        note("impulse", c["H"], impulse(c["order"], c["theta"], c["method"], len(c["H"])))
    for c in other["decoders"]:
        note("decoder coefficients", c["coefficients"], shifted_legendre(c["order"], c["r"]))
        m = re.fullmatch(r"u\[t\]=sin\(2\*pi\*t/([0-9.]+)\), t=0\.\.([0-9]+)", c["signal"])
        error = sine_decoding_error(c["order"], c["theta"], c["r"], float(m.group(1)), int(m.group(2)) + 1)
        note("decoder sine error", c["max_abs_error_t>=400"], error)
    for c in other["forward"]:
        assert c["hidden"] == "tanh(dense)", c["hidden"]
        w = {k: np.asarray(v, dtype=float) for k, v in c["weights"].items()}
        memory, hidden = forward_pass(c, w, np.asarray(c["x"], dtype=float))
        note("forward memory", c["memory"], memory)
        note("forward hidden", c["hidden_out"], hidden)
    return worst


def main(argv):
    output = argv[argv.index("--output") + 1] if "--output" in argv else OUTPUT
    text = to_json(build())
    with open(output, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(f"wrote {output} ({len(text.encode())} bytes)")
    if "--check" in argv:
        shared = os.environ.get("LMU_SHARED_DIR") or os.path.join(HERE, "..", "..", "..", "shared")
        path = os.path.join(shared, "reference", "lmu_reference.json")
        if not os.path.exists(path):
            path = os.path.join(HERE, "..", "..", "..", "..", "shared", "reference", "lmu_reference.json")
        if not os.path.exists(path):
            print("no shared oracle found to check against", file=sys.stderr)
            return 2
        worst = check_against(path)
        for part, diff in worst.items():
            print(f"  {part:22s} max |this - shared| = {diff:.2e}")
        if max(worst.values()) > 1e-12:
            print("differences above 1e-12", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
