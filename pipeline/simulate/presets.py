"""Roman Galactic Bulge Time Domain Survey cadence presets (DESIGN.md §5.1).

``gbtds-2025``: 6 seasons x 70 d, 12.1-min cadence, 66.9 s W149 exposures, 6 fields
(the 2025 GBTDS definition). ``cycle7``: 6 x 72 d, 15.16 min, 46.8 s, 7 fields, as
simulated by Penny et al. (2019, ApJS 241, 3). Seasons follow the bulge visibility
windows, two per year around the equinoxes; the first starts at ``first_season_bjd``
(an assumed launch schedule: the Roman project sets the real one).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SurveyPreset", "PRESETS", "get_preset"]

MINUTE = 1.0 / 1440.0


@dataclass(frozen=True)
class SurveyPreset:
    name: str
    n_seasons: int
    season_days: float
    cadence_min: float
    exposure_s: float
    n_fields: int
    first_season_bjd: float = 2461850.5  # 2028 Mar 20 (assumed)
    season_spacing_days: float = 182.625  # two bulge seasons per year

    def season_starts(self) -> np.ndarray:
        return self.first_season_bjd + self.season_spacing_days * np.arange(self.n_seasons)

    def season_of(self, bjd) -> np.ndarray:
        """Index of the season containing (or, in a gap, preceding) each time; -1 before the survey."""
        return np.searchsorted(self.season_starts(), np.asarray(bjd), side="right") - 1

    def epochs(self, season: int, field: int = 0) -> np.ndarray:
        """Observation times (BJD) of one field in one season; fields are visited in turn."""
        if not 0 <= season < self.n_seasons:
            raise ValueError(f"season {season} is outside 0..{self.n_seasons - 1} for preset {self.name!r}")
        start = self.season_starts()[season] + field * self.cadence_min * MINUTE / self.n_fields
        n = int(np.floor(self.season_days / (self.cadence_min * MINUTE)))
        return start + np.arange(n) * self.cadence_min * MINUTE

    def all_epochs(self, field: int = 0) -> np.ndarray:
        return np.concatenate([self.epochs(k, field) for k in range(self.n_seasons)])


PRESETS = {
    "gbtds-2025": SurveyPreset("gbtds-2025", 6, 70.0, 12.1, 66.9, 6),
    "cycle7": SurveyPreset("cycle7", 6, 72.0, 15.16, 46.8, 7),
}


def get_preset(name: str) -> SurveyPreset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown survey preset {name!r}; choose one of {sorted(PRESETS)}") from None
