"""The padded chi^2: one call over all datasets, sequential-JVP gradients, the Gauss-Newton Fisher matrix."""
import jax
import jax.numpy as jnp
import numpy as np

from pipeline.fit import Dataset
from pipeline.fit.models import ModelSpec, model_magnification
from pipeline.fit.objective import (_chi2, _magnifications, gauss_newton_function, pack, sequential_jacobian,
                                    value_and_grad_function, with_sequential_jvp)

RA, DEC = 268.5, -29.0
THETA = np.array([10.0, np.log(20.0), 0.15, 0.4, np.log(1.1), np.log(0.01), 0.05, -0.1])  # 2L1S + parallax


def _datasets(theta, spec, noise=True):
    """Two datasets of different lengths and cadences (a binary with parallax), fluxes from the model."""
    rng = np.random.default_rng(8)
    out = []
    for name, n, fs, fb in (("W149", 300, 100.0, 20.0), ("Z087", 120, 40.0, 5.0)):
        t = np.sort(rng.uniform(-40, 60, n))
        data = pack([Dataset(name, name, t, np.ones(n), np.ones(n))], ra=RA, dec=DEC, t0_par=10.0)
        a = np.asarray(model_magnification(spec, jnp.asarray(theta), data.t[0, :n], tuple(data.offsets[0, :, :n])))
        err = 0.01 * (fs * a + fb)
        flux = fs * a + fb + (rng.normal(size=n) * err if noise else 0.0)
        out.append(Dataset(name, name, t, flux, err, extra={"absolute": True}))
    return out


def test_one_call_over_datasets_equals_each_dataset_alone():
    """Flattening the datasets into one magnification call (no vmap) changes no value, parallax included."""
    spec = ModelSpec("2L1S", parallax=True, method="point")
    data = pack(_datasets(THETA, spec), ra=RA, dec=DEC, t0_par=10.0)
    got = np.asarray(_magnifications(spec, jnp.asarray(THETA), data))
    for i in range(2):  # independent: the model on one dataset's own times and offsets
        ref = model_magnification(spec, jnp.asarray(THETA), data.t[i], (data.offsets[i, 0], data.offsets[i, 1]))
        np.testing.assert_allclose(got[i], np.asarray(ref), rtol=1e-14)


def test_sequential_gradient_equals_reverse_mode():
    """The finite-source path's gradient (one JVP per parameter) equals JAX's reverse mode on a point-source model."""
    spec = ModelSpec("2L1S", parallax=True, method="point")
    data = pack(_datasets(THETA, spec), ra=RA, dec=DEC, t0_par=10.0)
    theta = jnp.asarray(THETA + 0.01)
    value, grad = jax.value_and_grad(lambda th: _chi2(spec, th, data))(theta)
    v_seq, g_seq = value_and_grad_function(spec, forward=True)(theta, data)
    np.testing.assert_allclose(v_seq, value, rtol=1e-12)
    np.testing.assert_allclose(g_seq, grad, rtol=1e-8, atol=1e-8 * np.abs(grad).max())
    # through the custom JVP rule, in reverse mode (what NUTS calls) and in forward mode
    wrapped = with_sequential_jvp(spec)
    np.testing.assert_allclose(jax.grad(wrapped)(theta, data), grad, rtol=1e-8, atol=1e-8 * np.abs(grad).max())
    np.testing.assert_allclose(jax.jacfwd(wrapped)(theta, data), grad, rtol=1e-8, atol=1e-8 * np.abs(grad).max())
    _, jac = sequential_jacobian(lambda th: jnp.stack([th[0] ** 2, th[1] * th[2]]), theta)
    np.testing.assert_allclose(jac, [[2 * theta[0], 0, 0, 0, 0, 0, 0, 0], [0, theta[2], theta[1], 0, 0, 0, 0, 0]])


def test_gauss_newton_fisher_equals_hessian_on_noiseless_data():
    """At the truth of noiseless data every residual is 0, so the chi^2 Hessian is exactly 2 J^T J."""
    spec = ModelSpec("2L1S", parallax=True, method="point")
    data = pack(_datasets(THETA, spec, noise=False), ra=RA, dec=DEC, t0_par=10.0)
    theta = jnp.asarray(THETA)
    assert float(_chi2(spec, theta, data)) < 1e-8
    hess = np.asarray(jax.hessian(lambda th: _chi2(spec, th, data))(theta))
    fisher = np.asarray(gauss_newton_function(spec)(theta, data))
    np.testing.assert_allclose(fisher, hess, rtol=1e-6, atol=1e-8 * np.abs(hess).max())

