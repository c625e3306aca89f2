"""Gradients of the finite-source magnification against finite differences of VBMicrolensing (issue 3).

Points near and on caustic crossings: the source centres within 3 rho of a caustic on the
curves of ``bench_finite_source.py`` (central and planetary), ``--points`` of them evenly
spread. Ours: ``jax.jacfwd`` of ``microjax_core.magnification`` (auto tiers) w.r.t.
(s, q, rho, w_x, w_y, and u for the linear limb-darkening law). Reference: central
differences of VBMicrolensing (``BinaryMag`` / ``BinaryMagDark`` at Tol = RelTol = 1e-10,
step 1e-5 of the parameter's scale: s, q, rho themselves, rho for w, 1 for u).

Per parameter: median and worst relative deviation ``|ours - fd| / |fd|``, and the worst
deviation in logarithmic units, ``|ours - fd| * scale / A`` (the error of ``d ln A / d ln p``;
near-zero derivatives make the relative column large where nothing is wrong).

    python benchmarks/bench_gradients.py [--points 12] [--cases central:1e-2:uni,...]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import microjax_core as mc  # noqa: E402
from benchmarks._common import machine, write_json  # noqa: E402
from benchmarks.bench_finite_source import curves  # noqa: E402

NAMES = ("s", "q", "rho", "w_x", "w_y", "u")


def near_points(s, q, w, rho, k):
    _, caustics = mc.critical_curves_and_caustics(mc.BinaryLens(s, q), n_points=2000)
    d = np.asarray(mc.multipole_validity.caustic_distance(jnp.asarray(w), caustics))
    idx = np.flatnonzero(d < 3 * rho)
    return w[idx[np.linspace(0, len(idx) - 1, min(k, len(idx))).astype(int)]]


def vb_value(vb, p, ld):
    s, q, x, y, rho, u = p
    if ld:
        vb.a1 = u
        return vb.BinaryMagDark(s, q, x, y, rho, 1e-10)
    return vb.BinaryMag(s, q, x, y, rho, 1e-10)


def case_rows(vb, cname, rho, ld, k):
    s, q, w = curves(1000)[cname]
    pts = near_points(s, q, w, rho, k)

    def ours(p, x):
        law = mc.LinearLD(p[5]) if ld else None
        return mc.magnification(x + p[3] + 1j * p[4], mc.BinaryLens(p[0], p[1]), p[2], law)

    jac = jax.jit(jax.jacfwd(ours))
    n_par = 6 if ld else 5
    dev, dev_log = np.zeros((len(pts), n_par)), np.zeros((len(pts), n_par))
    for j, x in enumerate(pts):
        p0 = np.array([s, q, rho, 0.0, 0.0, 0.5])
        g = np.asarray(jac(jnp.asarray(p0), jnp.asarray(x)))
        base = np.array([s, q, x.real, x.imag, rho, 0.5])
        a = vb_value(vb, base, ld)
        for i in range(n_par):
            scale = [s, q, rho, rho, rho, 1.0][i]
            slot = [0, 1, 4, 2, 3, 5][i]  # VB argument order: s, q, x, y, rho, u
            up, down = base.copy(), base.copy()
            up[slot] += 1e-5 * scale
            down[slot] -= 1e-5 * scale
            fd = (vb_value(vb, up, ld) - vb_value(vb, down, ld)) / (2e-5 * scale)
            dev[j, i] = abs(g[i] - fd) / max(abs(fd), 1e-300)
            dev_log[j, i] = abs(g[i] - fd) * scale / a
    rows = []
    for i in range(n_par):
        rows.append(dict(curve=cname, rho=rho, ld="linear u=0.5" if ld else "uniform", parameter=NAMES[i],
                         points=len(pts), median_rel_dev=float(np.median(dev[:, i])),
                         max_rel_dev=float(dev[:, i].max()), max_dlnA_dlnp_dev=float(dev_log[:, i].max()),
                         median_dlnA_dlnp_dev=float(np.median(dev_log[:, i]))))
        print(rows[-1], flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=12, help="points per case (within 3 rho of a caustic)")
    ap.add_argument("--cases", default="central:1e-2:uni,central:1e-2:ld,central:1e-3:uni,planetary:1e-3:uni")
    args = ap.parse_args()
    import VBMicrolensing

    vb = VBMicrolensing.VBMicrolensing()
    vb.Tol = vb.RelTol = 1e-10
    rows = []
    for case in args.cases.split(","):
        cname, rho, law = case.split(":")
        rows += case_rows(vb, cname, float(rho), law == "ld", args.points)
    print("\n| curve | rho | source | parameter | median rel dev | max rel dev | max dev of dlnA/dlnp |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['curve']} | {r['rho']:g} | {r['ld']} | {r['parameter']} | {r['median_rel_dev']:.1e} | "
              f"{r['max_rel_dev']:.1e} | {r['max_dlnA_dlnp_dev']:.1e} |")
    print(f"wrote {write_json('bench_gradients', {'machine': machine(), 'rows': rows})}")


if __name__ == "__main__":
    main()
