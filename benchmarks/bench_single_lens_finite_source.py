"""Single-lens finite source (FSPL): ours vs VBMicrolensing, time and error, one run.

1000 source positions u in [0, 3 rho] (where finite-source effects matter), for
rho = 1e-2 and 1e-3, uniform and linear limb darkening (u = 0.5). Errors are measured on
20 of the points against a brute-force 2-D adaptive quadrature over the disc in mpmath
(independent of both codes; points with u > rho only, where that quadrature is regular).
Ours is jitted (best of 3 after warm-up); VBMicrolensing (ESPLMag2 / ESPLMagDark) runs
in a Python loop at Tol = RelTol = 1e-4. Also: reverse-mode gradient of sum(A) w.r.t.
(rho, LD coefficient) relative to the forward call.

A second table: an 8,330-point light curve (Roman's 15-minute cadence over a season), where the
quadrature runs only within 10 rho of the lens.

    python benchmarks/bench_single_lens_finite_source.py
"""
from __future__ import annotations

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
from tests.core.test_single_lens_finite_source import _mp_fspl_outside  # noqa: E402


def main():
    import VBMicrolensing

    rows = []
    for rho in [1e-2, 1e-3]:
        u = np.linspace(0.0, 3 * rho, 1000)
        uj = jnp.asarray(u + 0j)
        check = np.linspace(1.05 * rho, 2.95 * rho, 20)
        for name, c in [("uniform", None), ("linear u=0.5", 0.5)]:
            law = (lambda mu: 1) if c is None else (lambda mu, c=c: (1 - c * (1 - mu)) / (1 - c / 3))
            truth = np.array([_mp_fspl_outside(x, rho, law) for x in check])

            def fwd(u, rho, c):
                return mc.single_lens_finite_source_magnification(u, rho, None if c is None else mc.LinearLD(c))

            f = jax.jit(lambda u: fwd(u, rho, c))
            t = time.perf_counter()
            f(uj).block_until_ready()
            compile_s = time.perf_counter() - t
            ours_s = best_time(lambda: f(uj).block_until_ready())
            err = np.abs(np.asarray(f(jnp.asarray(check + 0j))) / truth - 1).max()
            if c is None:
                g = jax.jit(jax.grad(lambda r: jnp.sum(fwd(uj, r, None))))
                g(rho).block_until_ready()
                grad_s = best_time(lambda: g(rho).block_until_ready())
            else:
                g = jax.jit(jax.grad(lambda r, cc: jnp.sum(fwd(uj, r, cc)), argnums=(0, 1)))
                jax.block_until_ready(g(rho, c))
                grad_s = best_time(lambda: jax.block_until_ready(g(rho, c)))
            vb = VBMicrolensing.VBMicrolensing()
            vb.Tol = vb.RelTol = 1e-4
            vb.a1 = 0.0 if c is None else c
            fn = vb.ESPLMag2 if c is None else vb.ESPLMagDark
            t = time.perf_counter()
            [fn(x, rho) for x in u]
            vb_s = time.perf_counter() - t
            vb_err = np.abs(np.array([fn(x, rho) for x in check]) / truth - 1).max()
            rows.append({"rho": rho, "source": name, "ours_ms": ours_s * 1e3, "ours_compile_s": compile_s,
                         "ours_max_err": float(err), "vb_ms": vb_s * 1e3, "vb_max_err": float(vb_err),
                         "grad_over_forward": grad_s / ours_s})
    print(f"{'rho':>7} {'source':<14}{'ours ms/1000':>13}{'compile s':>10}{'ours err':>10}"
          f"{'VBM ms/1000':>12}{'VBM err':>9}{'VBM/ours':>9}{'grad/fwd':>9}")
    for r in rows:
        print(f"{r['rho']:>7.0e} {r['source']:<14}{r['ours_ms']:>13.2f}{r['ours_compile_s']:>10.1f}"
              f"{r['ours_max_err']:>10.1e}{r['vb_ms']:>12.2f}{r['vb_max_err']:>9.1e}"
              f"{r['vb_ms'] / r['ours_ms']:>9.2f}{r['grad_over_forward']:>9.1f}")
    curves = light_curves()
    print("JSON:", write_json("bench_single_lens_finite_source", {"machine": machine(), "rows": rows,
                                                                  "light_curves": curves}))


def light_curves():
    """A light curve of 8,330 points (tau in [-5, 5], u0 = rho / 2: the source crosses the lens): the default
    (quadrature within 10 rho, hexadecapole beyond) against the quadrature on every point (``n_near`` = all)
    and VBMicrolensing's ESPLMag2 loop (Tol 1e-4); grad: reverse mode of sum(A) w.r.t. rho."""
    import VBMicrolensing

    out = []
    print(f"\n{'rho':>7} {'points':>7}{'default ms':>11}{'grad ms':>9}{'all-quadrature ms':>18}{'grad ms':>9}"
          f"{'max diff':>10}{'VBM ms':>8}{'VBM/default':>12}")
    for rho in [1e-2, 1e-3]:
        w = jnp.asarray(np.linspace(-5, 5, 8330) + 0.5j * rho)
        row = {"rho": rho, "points": int(w.size)}
        values = {}
        for label, n_near in (("default", None), ("all", int(w.size))):
            f = jax.jit(lambda r, n=n_near: mc.single_lens_finite_source_magnification(w, r, n_near=n))
            g = jax.jit(jax.grad(lambda r, n=n_near: jnp.sum(mc.single_lens_finite_source_magnification(w, r,
                                                                                                     n_near=n))))
            values[label] = np.asarray(f(rho))
            g(rho).block_until_ready()
            row[f"{label}_ms"] = best_time(lambda: f(rho).block_until_ready()) * 1e3
            row[f"{label}_grad_ms"] = best_time(lambda: g(rho).block_until_ready()) * 1e3
        row["max_rel_diff"] = float(np.max(np.abs(values["default"] / values["all"] - 1)))
        vb = VBMicrolensing.VBMicrolensing()
        vb.Tol = vb.RelTol = 1e-4
        u = np.abs(np.asarray(w))
        t = time.perf_counter()
        [vb.ESPLMag2(x, rho) for x in u]
        row["vb_ms"] = (time.perf_counter() - t) * 1e3
        print(f"{rho:>7.0e} {row['points']:>7}{row['default_ms']:>11.2f}{row['default_grad_ms']:>9.2f}"
              f"{row['all_ms']:>18.2f}{row['all_grad_ms']:>9.2f}{row['max_rel_diff']:>10.1e}{row['vb_ms']:>8.1f}"
              f"{row['vb_ms'] / row['default_ms']:>12.1f}")
        out.append(row)
    return out


if __name__ == "__main__":
    main()
