"""Event populations and their priors (DESIGN.md §5.1, after the 2018 WFIRST data
challenge truth tables, Street, Penny et al.).

Classes (``mix`` keys): ``1L1S`` single lens (finite source), ``2L1S`` stellar binary,
``planet`` (a 2L1S planet), ``3L1S`` (a planet in a binary, or two planets). Priors:

* ``tE``: log-normal, median 6 d (single lenses), 0.35 dex; binaries and planets median 15 d.
* ``u0``: uniform in [-1, 1] for single lenses, [-0.5, 0.5] otherwise; ``alpha`` uniform.
* ``rho``: log-uniform in [5e-4, 3e-3].
* source W149 uniform in [20, 25]; source flux fraction log-uniform in [0.02, 0.7].
* planets: log q uniform in [-5.8, -1.7] (median ~ -3.75), log s normal(0, 0.2);
  stellar binaries: log q uniform in [-2, 0], log s normal(0, 0.3).
* 3L1S: a planet (log q3 in [-5.8, -2], log s13 normal(0, 0.2), psi uniform) around
  the primary of a stellar binary (half) or of a planetary system (half).

Annual parallax is off by default (``piEN = piEE = 0``); ``simulate_survey(parallax=True)``
draws it. Truth is returned in its own table (``pipeline.schema.TRUTH``).
"""
from __future__ import annotations

import numpy as np

__all__ = ["CLASSES", "parse_mix", "draw_events"]

CLASSES = ("1L1S", "2L1S", "planet", "3L1S")
MODEL_TYPE = {"1L1S": "1L1S", "2L1S": "2L1S", "planet": "2L1S", "3L1S": "3L1S"}


def parse_mix(text: str | dict) -> dict[str, float]:
    """``"1L1S=0.6,2L1S=0.3,planet=0.1"`` -> normalised fractions; clear errors otherwise."""
    if isinstance(text, dict):
        items = list(text.items())
    else:
        items = []
        for part in str(text).split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise ValueError(f"mix entry {part.strip()!r} is not CLASS=FRACTION (classes: {', '.join(CLASSES)})")
            key, value = part.split("=", 1)
            try:
                items.append((key.strip(), float(value)))
            except ValueError:
                raise ValueError(f"mix fraction for {key.strip()!r} is not a number: {value.strip()!r}") from None
    mix = {}
    for key, value in items:
        if key not in CLASSES:
            raise ValueError(f"unknown event class {key!r} in mix; allowed: {', '.join(CLASSES)}")
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"mix fraction for {key} must be a finite number >= 0, got {value}")
        mix[key] = mix.get(key, 0.0) + float(value)
    total = sum(mix.values())
    if total <= 0:
        raise ValueError(f"mix {text!r} has no positive fraction")
    return {k: v / total for k, v in mix.items()}


def draw_events(rng: np.random.Generator, n: int, mix: dict[str, float]) -> dict[str, np.ndarray]:
    """Parameters for ``n`` events (times relative to t0; t0 is placed by the survey)."""
    classes = np.array(list(mix))
    population = rng.choice(classes, size=n, p=np.array([mix[c] for c in classes]))
    single = population == "1L1S"
    planet = population == "planet"
    binary = population == "2L1S"
    triple = population == "3L1S"
    out = {
        "population": population,
        "model_type": np.array([MODEL_TYPE[c] for c in population]),
        "tE": 10 ** rng.normal(np.where(single, np.log10(6.0), np.log10(15.0)), 0.35),
        "u0": np.where(single, rng.uniform(-1, 1, n), rng.uniform(-0.5, 0.5, n)),
        "alpha": rng.uniform(0, 2 * np.pi, n),
        "rho": 10 ** rng.uniform(np.log10(5e-4), np.log10(3e-3), n),
        "source_mag": rng.uniform(20.0, 25.0, n),
        "source_fraction": 10 ** rng.uniform(np.log10(0.02), np.log10(0.7), n),
    }
    log_q_planet = rng.uniform(-5.8, -1.7, n)
    log_q_binary = rng.uniform(-2.0, 0.0, n)
    out["q"] = np.where(planet, 10**log_q_planet, np.where(binary, 10**log_q_binary, np.nan))
    out["s"] = np.where(planet, 10 ** rng.normal(0, 0.2, n), np.where(binary, 10 ** rng.normal(0, 0.3, n), np.nan))
    # 3L1S: a planet around the primary of a stellar binary or of a planetary system
    host_binary = rng.uniform(size=n) < 0.5
    out["q"] = np.where(triple, np.where(host_binary, 10**log_q_binary, 10**log_q_planet), out["q"])
    out["s"] = np.where(triple, np.where(host_binary, 10 ** rng.normal(0, 0.3, n), 10 ** rng.normal(0, 0.2, n)),
                        out["s"])
    out["q3"] = np.where(triple, 10 ** rng.uniform(-5.8, -2.0, n), np.nan)
    out["s13"] = np.where(triple, 10 ** rng.normal(0, 0.2, n), np.nan)
    out["psi"] = np.where(triple, rng.uniform(0, 2 * np.pi, n), np.nan)
    out["piEN"] = np.zeros(n)
    out["piEE"] = np.zeros(n)
    return out
