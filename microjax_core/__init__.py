"""microjax_core: differentiable microlensing kernels in JAX.

Pure functions of one source position / one event; batch with ``jax.vmap``.
Nothing here changes global JAX configuration: enable float64 (JAX's
``jax_enable_x64`` option) at your entry point.
"""
from .lenses import BinaryLens, PointLens, TripleLens
from .point_source import Images, images, jacobian_determinant, lens_equation, point_source_magnification
from .roots import RootResult, polynomial_roots
from .polynomial import lens_polynomial
from .caustics import critical_curves_and_caustics
from .trajectory import source_trajectory
from .parallax import observer_position, parallax_offsets, sun_position, trajectory_with_parallax
from .limb_darkening import LinearLD, QuadraticLD, SquareRootLD, UniformSource
from .single_lens_finite_source import single_lens_finite_source_magnification
from .multipole import MultipoleTerms, multipole_terms, profile_moments
from .multipole_validity import caustic_distance, multipole_is_valid
from .icrs import ICRSResult, icrs_magnification
from .contour import contour_magnification
from .magnification import ACCURACY_SETTINGS, magnification
from .magnification_batch import magnification_batch
from . import likelihood
from .likelihood import chi2_profiled, log_likelihood_marginal, solve_fluxes

__all__ = [
    "PointLens", "BinaryLens", "TripleLens",
    "Images", "images", "point_source_magnification", "lens_equation", "jacobian_determinant",
    "RootResult", "polynomial_roots", "lens_polynomial",
    "critical_curves_and_caustics", "source_trajectory",
    "parallax_offsets", "observer_position", "sun_position", "trajectory_with_parallax",
    "UniformSource", "LinearLD", "QuadraticLD", "SquareRootLD",
    "single_lens_finite_source_magnification",
    "MultipoleTerms", "multipole_terms", "profile_moments",
    "caustic_distance", "multipole_is_valid",
    "ICRSResult", "icrs_magnification", "contour_magnification", "magnification", "magnification_batch", "ACCURACY_SETTINGS",
    "likelihood", "chi2_profiled", "log_likelihood_marginal", "solve_fluxes",
]
