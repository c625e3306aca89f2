"""W149 photometric noise (GULLS parameters; Penny et al. 2019, Table 1; DESIGN.md §5.1).

Counts in a 9-pixel (3 x 3) aperture over one exposure ``t``: the star's flux
``F = 10**(-0.4 (m - ZP))`` counts/s times ``aperture_fraction`` (the PSF's share in
the aperture), plus sky (3.43) and thermal + dark (1.072 counts/pix/s) over 9 pixels,
plus read noise (12.12 counts/pix). Poisson noise on the total, the 1 mmag floor in
quadrature. ``aperture_fraction = 0.8`` is the encircled energy of a 0.33" box for
Roman's W149 PSF (FWHM ~0.13"); with it the model reproduces the quoted precision
of the GULLS simulations, 0.01 mag at W149 = 21.15 for 46.8 s exposures
(tests/pipeline/test_noise.py). Saturation is flagged brighter than W149 = 14.8.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NoiseModel", "W149"]


@dataclass(frozen=True)
class NoiseModel:
    zero_point: float = 27.615  # mag giving 1 count/s
    read_noise: float = 12.12  # counts/pix (effective, multiple reads)
    sky: float = 3.43  # counts/pix/s
    thermal_dark: float = 1.072  # counts/pix/s
    n_pixels: int = 9
    aperture_fraction: float = 0.8
    floor_mag: float = 1e-3
    saturation_mag: float = 14.8

    def flux(self, mag):
        """Flux in counts/s of a star of magnitude ``mag``."""
        return 10.0 ** (-0.4 * (np.asarray(mag, float) - self.zero_point))

    def mag(self, flux):
        return self.zero_point - 2.5 * np.log10(flux)

    def flux_error(self, flux, exposure_s):
        """1-sigma error (counts/s) on a total flux ``flux`` (counts/s) for one exposure."""
        flux = np.asarray(flux, float)
        t = float(exposure_s)
        signal = self.aperture_fraction * flux * t
        background = self.n_pixels * ((self.sky + self.thermal_dark) * t + self.read_noise**2)
        photon = np.sqrt(np.maximum(signal, 0.0) + background) / (self.aperture_fraction * t)
        floor = flux * (10 ** (0.4 * self.floor_mag) - 1)
        return np.hypot(photon, floor)

    def mag_error(self, mag, exposure_s):
        f = self.flux(mag)
        return 2.5 / np.log(10) * self.flux_error(f, exposure_s) / f

    def saturated(self, flux):
        return np.asarray(flux) > self.flux(self.saturation_mag)


W149 = NoiseModel()
