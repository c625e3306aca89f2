"""Draw simulated light curves with their truths (so a user can look at what was made)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_survey_events"]


def plot_survey_events(survey_dir, out_file, *, event_ids=None, n: int = 6):
    """Plot ``n`` events (or ``event_ids``): data in magnitudes, the noiseless model, the truth."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .noise import W149
    from .survey import light_curve_model, read_survey

    obs, meta, truth, manifest = read_survey(survey_dir)
    if event_ids is None:
        # show the most interesting: largest peak magnification per population, round robin
        by_pop = [g.sort_values("max_magnification", ascending=False)["event_id"].tolist()
                  for _, g in truth.groupby("population")]
        event_ids = []
        while len(event_ids) < min(n, len(truth)):
            for ids in by_pop:
                if ids and len(event_ids) < n:
                    event_ids.append(ids.pop(0))
    unknown = sorted(set(event_ids) - set(truth["event_id"]))
    if unknown:
        raise ValueError(f"event ids {unknown} are not in {survey_dir} (ids run 0..{len(truth) - 1})")
    cols = 2
    rows = -(-len(event_ids) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(11, 3.2 * rows), squeeze=False)
    for ax, eid in zip(axes.ravel(), event_ids):
        t = truth.set_index("event_id").loc[eid]
        o = obs[obs["event_id"] == eid]
        window = np.abs(o["bjd"] - t["t0"]) < max(3 * t["tE"], 2.0)
        o = o[window]
        tt = np.linspace(o["bjd"].min(), o["bjd"].max(), 4000) if len(o) else np.array([t["t0"]])
        model = W149.mag(t["fs_W149"] * light_curve_model(tt, t) + t["fb_W149"])
        ax.errorbar(o["bjd"] - 2460000, o["mag"], o["mag_err"], fmt=".", ms=2, lw=0.5, color="0.5", alpha=0.6)
        ax.plot(tt - 2460000, model, "C3", lw=1)
        ax.invert_yaxis()
        label = f"#{eid} {t['population']}: tE={t['tE']:.1f} d u0={t['u0']:.3f} rho={t['rho']:.1e}"
        if t["model_type"] != "1L1S":
            label += f"\ns={t['s']:.3f} q={t['q']:.2e} alpha={np.degrees(t['alpha']):.0f} deg"
        if t["model_type"] == "3L1S":
            label += f" s13={t['s13']:.2f} q3={t['q3']:.1e}"
        ax.set_title(label, fontsize=8)
        ax.set_xlabel("BJD - 2460000")
        ax.set_ylabel("W149")
    for ax in axes.ravel()[len(event_ids):]:
        ax.axis("off")
    fig.suptitle(f"{Path(survey_dir).name}: preset {manifest['preset']['name']}, seed {manifest['seed']}")
    fig.tight_layout()
    fig.savefig(out_file, dpi=110)
    plt.close(fig)
    return out_file
