"""Roman-like survey simulator: cadence presets, W149 noise, event populations, Parquet output."""
from .noise import W149, NoiseModel
from .population import CLASSES, draw_events, parse_mix
from .presets import PRESETS, SurveyPreset, get_preset
from .survey import WINDOWS, light_curve_model, read_survey, simulate_survey, write_survey

__all__ = ["W149", "NoiseModel", "CLASSES", "draw_events", "parse_mix", "PRESETS", "SurveyPreset", "get_preset",
           "WINDOWS", "light_curve_model", "read_survey", "simulate_survey", "write_survey"]
