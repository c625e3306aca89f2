"""Wall time of the staged fit of one event on this machine (compile included, then warm), and XLA
compilations in a second event of the same bucket. Prints a table and writes JSON.

    python benchmarks/bench_fit.py [--seed 21] [--binary-seed 8]

Events come from the survey simulator (gbtds-2025, season window): a 1L1S event, then a
second 1L1S event (0 compilations if its fit window, +-5 tE, falls in the first one's length
bucket; another bucket compiles its own programs), then an anomalous 2L1S event.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _event(mix, seed):
    import pandas as pd

    from pipeline.fit import datasets_from_survey
    from pipeline.simulate.survey import simulate_survey

    obs, _, truth = next(iter(simulate_survey(1, mix=mix, seed=seed, window="season")))
    return datasets_from_survey(pd.DataFrame(obs)), truth


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--binary-seed", type=int, default=8)
    ap.add_argument("--json", default="benchmarks/out/bench_fit.json")
    args = ap.parse_args()
    import os

    os.environ.setdefault("MICROJAX_SURVEY_CACHE", "off")  # compile times count
    from workflows.runtime import configure

    configure()
    from pipeline.fit import FitConfig, fit_event
    from pipeline.orchestrate import compilations

    rows = []
    for label, mix, seed in (("1L1S (first: compiles)", "1L1S=1", args.seed),
                             ("1L1S (second event)", "1L1S=1", args.seed + 1),
                             ("2L1S anomalous", "2L1S=1", args.binary_seed)):
        datasets, truth = _event(mix, seed)
        c0 = compilations()
        tic = time.perf_counter()
        res = fit_event(datasets, FitConfig())
        wall = time.perf_counter() - tic
        sol = res.solutions.to_pandas()
        best = sol[sol.is_best].iloc[0] if sol.is_best.any() else sol.iloc[0]
        rows.append({"event": label, "points": int(sum(len(d) for d in datasets)), "wall_s": wall,
                     "compilations": compilations() - c0, "modes": len(sol), "best": best.mode_label,
                     "status": ",".join(sol.status), "r_hat_max": float(best.r_hat_max or float("nan")),
                     "tE_true": truth["tE"], "tE_fit": float(best.tE_median or float("nan")),
                     "stages": {k: round(v, 1) for k, v in res.stages.items() if k.endswith("_s")}})
    print(f"{'event':<28}{'points':>8}{'wall s':>9}{'XLA compiles':>14}{'modes':>7}  best / status / R-hat / tE fit vs true")
    for r in rows:
        print(f"{r['event']:<28}{r['points']:>8}{r['wall_s']:>9.1f}{r['compilations']:>14}{r['modes']:>7}  "
              f"{r['best']} / {r['status']} / {r['r_hat_max']:.4f} / {r['tE_fit']:.3f} vs {r['tE_true']:.3f}  {r['stages']}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(rows, indent=1, default=str))


if __name__ == "__main__":
    main()
