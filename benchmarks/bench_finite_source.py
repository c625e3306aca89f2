"""Finite-source binary light curves: ours vs VBMicrolensing vs microjaxx, one run (issue 3).

Curves (1000 points each): the central caustic (s = 1, q = 0.01, u0 = 0, alpha = 10 deg,
tau in [-1, 1]) and a planetary-caustic crossing (s = 1.3, q = 1e-3, a track through
the planetary caustic at s - 1/s from the primary), for rho = 1e-2 and 1e-3, uniform
and linear limb darkening (u = 0.5). Columns:

* ours: ``microjax_core.magnification`` (auto: point source / multipole / ICRS),
  jitted, best of 3 after warm-up; compile time apart; max / median relative error
  against VBMicrolensing at Tol = RelTol = 1e-8 (uniform: every point; limb-darkened:
  every 5th point, VB's dark integration being ~60 ms/point at that tolerance).
* VB: time per point of VBMicrolensing at the loosest of Tol in {1e-2 .. 1e-6} whose
  max error on the checked points is <= ours (a Python loop over points; the loop
  overhead is ~1 us/point).
* microjaxx (the seed, ``mag_binary`` at its defaults): time and error on
  ``--mjx-points`` points of each curve only (it takes ~1 s/point on a CPU).
* grad: ``jax.grad`` of a chi^2 over the light curve w.r.t. (s, q, rho, u0, ...), as a
  multiple of the forward time.

    python benchmarks/bench_finite_source.py [--quick] [--events N] [--mjx-points K]

``--events N`` also times ``vmap`` of the forward over N events (GPU column).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import microjax_core as mc  # noqa: E402
from benchmarks._common import best_time, machine, write_json  # noqa: E402


def curves(n):
    tau = np.linspace(-1, 1, n)
    a = np.deg2rad(10.0)
    central = (1.0, 0.01, tau * np.cos(a) + 1j * tau * np.sin(a))
    s, q = 1.3, 1e-3
    xc = -s * q / (1 + q) + (s - 1 / s)
    b = np.deg2rad(60.0)
    t2 = np.linspace(-0.08, 0.08, n)
    planet = (s, q, xc + 0.002 + t2 * np.cos(b) + 1j * t2 * np.sin(b))
    return {"central": central, "planetary": planet}


def vb_curve(vb, s, q, w, rho, u_ld, tol):
    vb.Tol, vb.RelTol = tol, tol
    if u_ld is None:
        return np.array([vb.BinaryMag(s, q, x.real, x.imag, rho, tol) for x in w])
    vb.a1 = u_ld
    return np.array([vb.BinaryMagDark(s, q, x.real, x.imag, rho, tol) for x in w])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="200 points per curve")
    ap.add_argument("--events", type=int, default=0, help="also time vmap over this many events")
    ap.add_argument("--mjx-points", type=int, default=4)
    ap.add_argument("--no-vb", action="store_true")
    ap.add_argument("--no-grad", action="store_true", help="skip the reverse-mode gradient timing")
    ap.add_argument("--curves", default="central,planetary", help="which curves (comma-separated)")
    ap.add_argument("--check-every", type=int, default=1, help="VB reference on every k-th point (uniform)")
    args = ap.parse_args()
    import VBMicrolensing

    vb = VBMicrolensing.VBMicrolensing()
    n = 200 if args.quick else 1000
    rows = []
    for cname, (s, q, w) in curves(n).items():
        if cname not in args.curves.split(","):
            continue
        lens = mc.BinaryLens(s, q)
        wj = jnp.asarray(w)
        for rho in (1e-2, 1e-3):
            for u_ld in (None, 0.5):
                law = None if u_ld is None else mc.LinearLD(u_ld)
                f = jax.jit(lambda w, rho, c: mc.magnification(w, lens, rho, None if u_ld is None else mc.LinearLD(c)))
                c0 = 0.5 if u_ld is not None else 0.0
                t = time.perf_counter()
                a = np.asarray(f(wj, rho, c0).block_until_ready())
                compile_s = time.perf_counter() - t
                ours_s = best_time(lambda: f(wj, rho, c0).block_until_ready())
                check = slice(None, None, args.check_every if u_ld is None else max(5, args.check_every))
                row = dict(curve=cname, rho=rho, ld="uniform" if u_ld is None else "linear u=0.5",
                           ours_us_per_pt=ours_s / n * 1e6, compile_s=compile_s)
                if not args.no_vb:
                    ref = vb_curve(vb, s, q, w[check], rho, u_ld, 1e-8)
                    err = np.abs(a[check] / ref - 1)
                    row.update(ours_max_err=err.max(), ours_median_err=float(np.median(err)))
                    for tol in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6):
                        t = time.perf_counter()
                        got = vb_curve(vb, s, q, w[check], rho, u_ld, tol)
                        vb_s = (time.perf_counter() - t) / len(got)
                        vb_err = np.abs(got / ref - 1).max()
                        if vb_err <= err.max():
                            break
                    row.update(vb_tol=tol, vb_us_per_pt=vb_s * 1e6, vb_max_err=vb_err,
                               ratio_ours_over_vb=row["ours_us_per_pt"] / (vb_s * 1e6))

                # gradient of a chi^2 over the curve w.r.t. (s, q, rho)
                def chi2(p):
                    lens_p = mc.BinaryLens(p[0], p[1])
                    am = mc.magnification(wj, lens_p, p[2], law)
                    return jnp.sum((am - a) ** 2)

                if args.no_grad:
                    rows.append(row)
                    print(row, flush=True)
                    continue
                g = jax.jit(jax.grad(chi2))
                p0 = jnp.asarray([s, q, rho * 1.01])
                g(p0).block_until_ready()
                fwd = jax.jit(chi2)
                fwd(p0).block_until_ready()
                row["grad_over_forward"] = best_time(lambda: g(p0).block_until_ready()) / best_time(
                    lambda: fwd(p0).block_until_ready())
                rows.append(row)
                print(row, flush=True)
        if args.mjx_points and not args.no_vb:
            from microjax.inverse_ray.lightcurve import mag_binary

            idx = np.linspace(n // 2 - n // 10, n // 2 + n // 10, args.mjx_points).astype(int)
            for rho in (1e-2, 1e-3):
                mj = jax.jit(lambda x: mag_binary(x, rho, s=s, q=q))
                t = time.perf_counter()
                am = np.asarray(mj(jnp.asarray(w[idx])).block_until_ready())
                mj_compile = time.perf_counter() - t
                t = time.perf_counter()
                am = np.asarray(mj(jnp.asarray(w[idx])).block_until_ready())
                mj_s = (time.perf_counter() - t) / len(idx)
                ref = vb_curve(vb, s, q, w[idx], rho, None, 1e-8)
                ours = np.asarray(mc.magnification(jnp.asarray(w[idx]), lens, rho))
                rows.append(dict(curve=cname, rho=rho, ld="uniform", microjaxx_points=len(idx),
                                 microjaxx_us_per_pt=mj_s * 1e6, microjaxx_compile_s=mj_compile,
                                 microjaxx_max_err=float(np.abs(am / ref - 1).max()),
                                 ours_max_err_same_points=float(np.abs(ours / ref - 1).max())))
                print(rows[-1], flush=True)
    if args.events:
        s, q, w = curves(n)["central"]
        ss = jnp.asarray(1.0 + 0.05 * np.sin(np.arange(args.events)))

        def one(s_):
            return mc.magnification(jnp.asarray(w), mc.BinaryLens(s_, q), 1e-3)

        fv = jax.jit(jax.vmap(one))
        t = time.perf_counter()
        fv(ss).block_until_ready()
        compile_s = time.perf_counter() - t
        tv = best_time(lambda: fv(ss).block_until_ready())
        rows.append(dict(vmap_events=args.events, points_per_event=n, rho=1e-3,
                         us_per_pt=tv / (n * args.events) * 1e6, compile_s=compile_s))
        print(rows[-1], flush=True)
    path = write_json("bench_finite_source", {"machine": machine(), "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
