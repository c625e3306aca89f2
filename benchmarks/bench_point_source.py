"""Point-source magnification throughput: ours vs VBMicrolensing vs microjaxx, same points, one run.

Ours: ``point_source_magnification`` jitted over a batch of 10^5 points (compile time
reported apart, run time the best of 3 after warm-up). The gradient column: ``jax.grad`` of the batch's
summed magnification in the lens parameters and every position. VBMicrolensing: ``BinaryMag0`` /
``MultiMag0`` (Multipoly) in a Python loop over a 10^4-point subset (per-point cost is
flat). microjaxx: ``mag_point_source`` jitted over the same 10^5 points. The error
columns are the max relative difference to VBMicrolensing on the subset.

    python benchmarks/bench_point_source.py [--points 100000]
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
from tests.reference import vb_set_geometry  # noqa: E402


def run(n_points: int, n_vb: int, seed: int = 0) -> dict:
    import VBMicrolensing

    rng = np.random.default_rng(seed)
    w = rng.uniform(-1.5, 1.5, n_points) + 1j * rng.uniform(-1.5, 1.5, n_points)
    wj = jnp.asarray(w)
    cases = {
        "binary (s=1, q=0.01)": (mc.BinaryLens(1.0, 0.01), {"nlenses": 2, "s": 1.0, "q": 0.01}),
        "triple (s=1, q=0.3, s13=1.2, q3=1e-3, psi=2)": (mc.TripleLens(1.0, 0.3, 1.2, 1e-3, 2.0), None),
    }
    rows = []
    for name, (lens, mj_params) in cases.items():
        ours = jax.jit(mc.point_source_magnification)
        t = time.perf_counter()
        A = ours(wj, lens).block_until_ready()
        compile_s = time.perf_counter() - t
        run_s = best_time(lambda: ours(wj, lens).block_until_ready())
        # gradient of sum(A) in every lens parameter and every source position (as a fit's chi^2 needs)
        grad = jax.jit(jax.grad(lambda w, l: jnp.sum(mc.point_source_magnification(w, l)), argnums=(0, 1)))
        t = time.perf_counter()
        jax.block_until_ready(grad(wj, lens))
        grad_compile_s = time.perf_counter() - t
        grad_s = best_time(lambda: jax.block_until_ready(grad(wj, lens)))

        vb = VBMicrolensing.VBMicrolensing()
        sub = w[:n_vb]
        if lens.n_lenses == 2:
            t = time.perf_counter()
            A_vb = np.array([vb.BinaryMag0(lens.s, lens.q, x.real, x.imag) for x in sub])
            vb_s = time.perf_counter() - t
        else:
            vb.SetMethod(vb.Method.Multipoly)
            vb_set_geometry(vb, np.asarray(lens.positions()), np.asarray(lens.masses()))
            t = time.perf_counter()
            A_vb = np.array([vb.MultiMag0(x.real, x.imag) for x in sub])
            vb_s = time.perf_counter() - t
        err_ours = float(np.max(np.abs(np.asarray(A)[:n_vb] / A_vb - 1)))

        mj_us, mj_err, mj_compile = None, None, None
        if mj_params is None:  # microjaxx's triple: lens 3 from the 1-2 midpoint
            z = np.asarray(lens.positions())
            d = z[2] - 0.5 * (z[0] + z[1])
            mj_params = {"nlenses": 3, "s": float(lens.s), "q": float(lens.q), "q3": float(lens.q3),
                         "r3": float(abs(d)), "psi": float(np.angle(d))}
        try:
            from microjax.point_source import mag_point_source

            mj = jax.jit(lambda w: mag_point_source(w, **mj_params))
            t = time.perf_counter()
            A_mj = mj(wj).block_until_ready()
            mj_compile = time.perf_counter() - t
            mj_us = best_time(lambda: mj(wj).block_until_ready()) / n_points * 1e6
            mj_err = float(np.max(np.abs(np.asarray(A_mj)[:n_vb] / A_vb - 1)))
        except ImportError:
            pass
        rows.append({
            "case": name, "points": n_points,
            "ours_us_per_point": run_s / n_points * 1e6, "ours_points_per_s": n_points / run_s,
            "ours_compile_s": compile_s, "ours_max_rel_err_vs_vb": err_ours,
            "ours_grad_us_per_point": grad_s / n_points * 1e6, "ours_grad_compile_s": grad_compile_s,
            "vb_us_per_point": vb_s / n_vb * 1e6, "vb_points": n_vb,
            "microjaxx_us_per_point": mj_us, "microjaxx_compile_s": mj_compile,
            "microjaxx_max_rel_err_vs_vb": mj_err,
        })
    return {"machine": machine(), "rows": rows}


def print_table(result: dict) -> None:
    print(f"machine: {result['machine']['cpu']} ({result['machine']['cores']} cores), "
          f"jax {result['machine']['jax']} on {result['machine']['backend']}")
    head = (f"{'case':<46}{'ours us/pt':>11}{'Mpts/s':>8}{'compile s':>10}{'grad us/pt':>11}{'err':>9}"
            f"{'VBM us/pt':>10}{'mjx us/pt':>10}{'mjx err':>9}{'VBM/ours':>9}{'mjx/ours':>9}")
    print(head)
    for r in result["rows"]:
        mj = r["microjaxx_us_per_point"]
        print(f"{r['case']:<46}{r['ours_us_per_point']:>11.3f}{r['ours_points_per_s'] / 1e6:>8.2f}"
              f"{r['ours_compile_s']:>10.1f}{r['ours_grad_us_per_point']:>11.3f}"
              f"{r['ours_max_rel_err_vs_vb']:>9.1e}{r['vb_us_per_point']:>10.2f}"
              f"{(mj if mj else float('nan')):>10.3f}{(r['microjaxx_max_rel_err_vs_vb'] or float('nan')):>9.1e}"
              f"{r['vb_us_per_point'] / r['ours_us_per_point']:>9.2f}"
              f"{(mj / r['ours_us_per_point'] if mj else float('nan')):>9.2f}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=100_000)
    p.add_argument("--vb-points", type=int, default=10_000)
    args = p.parse_args(argv)
    result = run(args.points, args.vb_points)
    print_table(result)
    print("JSON:", write_json("bench_point_source", result))


if __name__ == "__main__":
    main()
