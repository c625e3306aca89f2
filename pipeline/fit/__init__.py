"""Fitting one event: photometry readers, models, staged search, NUTS, solution rows (DESIGN.md §5.2)."""
from ..ephemeris import Ephemeris, EphemerisError, read_ephemeris
from .models import ModelSpec
from .photometry import Dataset, PhotometryError, datasets_from_survey, read_photometry
from .sample import SamplerSettings
from .staged import FitConfig, FitResult, config_hash, fit_event

__all__ = ["ModelSpec", "Dataset", "Ephemeris", "EphemerisError", "read_ephemeris", "PhotometryError",
           "read_photometry", "datasets_from_survey", "SamplerSettings", "FitConfig", "FitResult", "fit_event", "config_hash"]
