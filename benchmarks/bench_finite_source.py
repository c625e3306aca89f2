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

``--events N`` also times N events per call (central curves, s varied per event, rho = 1e-3):
``magnification_batch`` (the tiers chosen per point over the whole batch) against ``jax.vmap``
of ``magnification`` (GPU column). ``--vb-cache FILE.npz`` keeps VBMicrolensing's Tol = 1e-8
reference curves, so a machine without VBMicrolensing (the GPU node) checks against them;
``--no-vb-timing`` skips VB's tolerance search there. ``--parts curves,mjx,events`` picks the
sections; the lens, rho and coefficient are traced, so each law compiles once per section.
"""
from __future__ import annotations

import argparse
import sys
import time
from functools import partial
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


class Reference:
    """VBMicrolensing at Tol = RelTol = 1e-8, kept in an ``.npz`` (``path``) when given."""

    def __init__(self, vb, path):
        self.vb, self.path = vb, path
        self.data = dict(np.load(path)) if path and Path(path).exists() else {}

    def __call__(self, key, s, q, w, rho, u_ld):
        if key not in self.data:
            if self.vb is None:
                raise SystemExit(f"no VBMicrolensing here and no reference {key!r} in {self.path}")
            self.data[key] = vb_curve(self.vb, s, q, w, rho, u_ld, 1e-8)
            if self.path:
                np.savez(self.path, **self.data)
        return self.data[key]


def law(ld, c):
    return mc.LinearLD(c) if ld else None


def curve_rows(args, n, vb, ref):
    rows = []
    laws = [{"uniform": False, "ld": True}[x] for x in args.sources.split(",")]
    cases = [(c, rho, ld) for c in args.curves.split(",") for rho in (1e-2, 1e-3) for ld in laws]
    fwd = {ld: jax.jit(lambda w, s, q, rho, c, ld=ld: mc.magnification(w, mc.BinaryLens(s, q), rho, law(ld, c)))
           for ld in (False, True)}

    def chi2(p, w, target, c, ld):
        return jnp.sum((mc.magnification(w, mc.BinaryLens(p[0], p[1]), p[2], law(ld, c)) - target) ** 2)

    grad = {ld: jax.jit(jax.grad(partial(chi2, ld=ld))) for ld in (False, True)}
    loss = {ld: jax.jit(partial(chi2, ld=ld)) for ld in (False, True)}
    for cname, rho, ld in cases:
        s, q, w = curves(n)[cname]
        wj, c0 = jnp.asarray(w), 0.5 if ld else 0.0
        args_f = (wj, s, q, rho, c0)
        t = time.perf_counter()
        a = np.asarray(fwd[ld](*args_f).block_until_ready())
        compile_s = time.perf_counter() - t
        ours_s = best_time(lambda: fwd[ld](*args_f).block_until_ready())
        check = slice(None, None, max(5, args.check_every) if ld else args.check_every)
        row = dict(curve=cname, rho=rho, ld="linear u=0.5" if ld else "uniform",
                   ours_us_per_pt=ours_s / n * 1e6, compile_s=compile_s)
        if vb is not None or ref.data:
            key = f"{cname}_n{n}_rho{rho:g}_{'ld' if ld else 'uni'}_every{check.step}"
            r = ref(key, s, q, w[check], rho, 0.5 if ld else None)
            err = np.abs(a[check] / r - 1)
            row.update(ours_max_err=err.max(), ours_median_err=float(np.median(err)))
            if vb is not None and not args.no_vb_timing:
                for tol in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6):
                    t = time.perf_counter()
                    got = vb_curve(vb, s, q, w[check], rho, 0.5 if ld else None, tol)
                    vb_s = (time.perf_counter() - t) / len(got)
                    vb_err = np.abs(got / r - 1).max()
                    if vb_err <= err.max():
                        break
                row.update(vb_tol=tol, vb_us_per_pt=vb_s * 1e6, vb_max_err=vb_err,
                           ratio_ours_over_vb=row["ours_us_per_pt"] / (vb_s * 1e6))
        rows.append(row)
        print(row, flush=True)
    for row, (cname, rho, ld) in zip([] if args.no_grad else rows, cases):
        # gradient of a chi^2 over the curve w.r.t. (s, q, rho), as a multiple of the forward chi^2
        s, q, w = curves(n)[cname]
        c0 = 0.5 if ld else 0.0
        p0, wj = jnp.asarray([s, q, rho]), jnp.asarray(w)
        ga = (p0 * jnp.asarray([1.0, 1.0, 1.01]), wj, fwd[ld](wj, s, q, rho, c0), c0)
        t = time.perf_counter()
        grad[ld](*ga).block_until_ready()
        loss[ld](*ga).block_until_ready()
        row["grad_compile_s"] = time.perf_counter() - t
        row["grad_over_forward"] = (best_time(lambda: grad[ld](*ga).block_until_ready())
                                    / best_time(lambda: loss[ld](*ga).block_until_ready()))
        print(dict(curve=cname, rho=rho, ld=row["ld"], grad_over_forward=row["grad_over_forward"],
                   grad_compile_s=row["grad_compile_s"]), flush=True)
    return rows


def microjaxx_rows(args, n, vb):
    from microjax.inverse_ray.lightcurve import mag_binary

    rows = []
    for cname in args.curves.split(","):
        s, q, w = curves(n)[cname]
        lens = mc.BinaryLens(s, q)
        idx = np.linspace(n // 2 - n // 10, n // 2 + n // 10, args.mjx_points).astype(int)
        for rho in (1e-2, 1e-3):
            mj = jax.jit(lambda x: mag_binary(x, rho, s=s, q=q))
            t = time.perf_counter()
            am = np.asarray(mj(jnp.asarray(w[idx])).block_until_ready())
            mj_compile = time.perf_counter() - t
            t = time.perf_counter()
            am = np.asarray(mj(jnp.asarray(w[idx])).block_until_ready())
            mj_s = (time.perf_counter() - t) / len(idx)
            r = vb_curve(vb, s, q, w[idx], rho, None, 1e-8)
            ours = np.asarray(mc.magnification(jnp.asarray(w[idx]), lens, rho))
            rows.append(dict(curve=cname, rho=rho, ld="uniform", microjaxx_points=len(idx),
                             microjaxx_us_per_pt=mj_s * 1e6, microjaxx_compile_s=mj_compile,
                             microjaxx_max_err=float(np.abs(am / r - 1).max()),
                             ours_max_err_same_points=float(np.abs(ours / r - 1).max())))
            print(rows[-1], flush=True)
    return rows


def event_rows(args, n):
    """``args.events`` central curves per call (s varied per event, rho = 1e-3): batch vs vmap."""
    rows = []
    _, q, w = curves(n)["central"]
    n_ev = args.events
    ss = jnp.asarray(1.0 + 0.05 * np.sin(np.arange(n_ev)))
    ws = jnp.asarray(np.broadcast_to(w, (n_ev, n)))
    rho = 1e-3
    for how in args.event_modes.split(","):
        mode, ld = how.split(":")
        ld = ld == "ld"
        if mode == "vmap":
            fn = jax.jit(jax.vmap(lambda w_, s_, c: mc.magnification(w_, mc.BinaryLens(s_, q), rho, law(ld, c)),
                                  in_axes=(0, 0, None)))
        else:
            chunk = int(mode.removeprefix("batch"))
            fn = jax.jit(lambda w_, s_, c, chunk=chunk, ld=ld: mc.magnification_batch(
                w_, mc.BinaryLens(s_, jnp.full_like(s_, q)), jnp.full_like(s_, rho), law(ld, c), chunk_size=chunk))
        c0 = 0.5 if ld else 0.0
        t = time.perf_counter()
        fn(ws, ss, c0).block_until_ready()
        compile_s = time.perf_counter() - t
        tv = best_time(lambda: fn(ws, ss, c0).block_until_ready())
        rows.append(dict(events_per_call=n_ev, mode=mode, ld="linear u=0.5" if ld else "uniform",
                         points_per_event=n, rho=rho, run_s=tv, curves_per_s=n_ev / tv,
                         us_per_pt=tv / (n * n_ev) * 1e6, compile_s=compile_s))
        print(rows[-1], flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="200 points per curve")
    ap.add_argument("--events", type=int, default=0, help="also time this many events per call")
    ap.add_argument("--event-modes", default="batch64:uni,vmap:uni,batch64:ld",
                    help="what --events times: batchCHUNK or vmap, ':uni' or ':ld'")
    ap.add_argument("--mjx-points", type=int, default=4)
    ap.add_argument("--no-vb", action="store_true")
    ap.add_argument("--no-vb-timing", action="store_true", help="errors against the reference only")
    ap.add_argument("--vb-cache", default=None, help=".npz of VBMicrolensing reference curves (read, and filled)")
    ap.add_argument("--no-grad", action="store_true", help="skip the reverse-mode gradient timing")
    ap.add_argument("--curves", default="central,planetary", help="which curves (comma-separated)")
    ap.add_argument("--sources", default="uniform,ld", help="uniform and/or ld (linear u = 0.5), comma-separated")
    ap.add_argument("--parts", default="curves,mjx,events", help="sections to run (comma-separated)")
    ap.add_argument("--check-every", type=int, default=1, help="VB reference on every k-th point (uniform)")
    ap.add_argument("--json-name", default="bench_finite_source")
    args = ap.parse_args()
    try:
        import VBMicrolensing
        vb = None if args.no_vb else VBMicrolensing.VBMicrolensing()
    except ImportError:
        vb = None
    ref = Reference(vb, args.vb_cache)
    n = 200 if args.quick else 1000
    parts = args.parts.split(",")
    rows = []
    if "curves" in parts:
        rows += curve_rows(args, n, vb, ref)
    if "mjx" in parts and args.mjx_points and vb is not None:
        rows += microjaxx_rows(args, n, vb)
    if "events" in parts and args.events:
        rows += event_rows(args, n)
    path = write_json(args.json_name, {"machine": machine(), "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
