"""Helpers of the ICRS region construction against brute force on random inputs."""
import jax.numpy as jnp
import numpy as np

from microjax_core.icrs_regions import _angle_order, _interval_min, _line_limits


def test_interval_min_equals_testing_every_interval():
    rng = np.random.default_rng(3)
    for n_x, n_s in [(64, 200), (37, 50), (1, 5)]:
        x = np.sort(rng.uniform(-1, 1, n_x))
        x[n_x // 3: n_x // 3 + 3] = x[n_x // 3]  # repeated line angles
        a = rng.uniform(-1.3, 1.1, n_s)
        b = a + rng.exponential(0.3, n_s)
        b[::7] = a[::7] - 0.1  # empty intervals
        v = rng.normal(size=n_s)
        inside = (a[None, :] <= x[:, None]) & (x[:, None] <= b[None, :])
        expected = np.where(inside, v[None, :], np.inf).min(axis=1)
        got = np.asarray(_interval_min(jnp.asarray(x), jnp.asarray(a), jnp.asarray(b), jnp.asarray(v)))
        np.testing.assert_array_equal(got, expected)


def test_line_limits_equal_the_angular_window_test_per_line():
    """Per line: min/max of ``r -+ margin`` over member samples within their window of the
    line's angle (mod 2 pi), the test the lines made against every sample before."""
    rng = np.random.default_rng(4)
    n_s, n_t = 300, 64
    theta_mid = 2.9
    rel = np.sort(rng.uniform(-np.pi, np.pi, n_t))
    g_theta = rng.uniform(-np.pi, np.pi, n_s)
    g_window = rng.exponential(0.05, n_s)
    g_window[:5] = 4.0  # every angle
    g_r, g_mr = rng.uniform(0.5, 1.5, n_s), rng.uniform(0, 0.01, n_s)
    member = rng.uniform(size=n_s) < 0.7
    lo, hi, any_near = (np.asarray(a) for a in _line_limits(
        jnp.asarray(rel), theta_mid, tuple(jnp.asarray(a) for a in (g_r, g_theta, g_window, g_mr, member))))
    diff = np.abs(np.mod(g_theta[None, :] - (theta_mid + rel)[:, None] + np.pi, 2 * np.pi) - np.pi)  # numpy, not ours
    near = member[None, :] & (diff <= g_window[None, :])
    np.testing.assert_allclose(lo, np.where(near, g_r - g_mr, np.inf).min(axis=1), rtol=0, atol=0)
    np.testing.assert_allclose(hi, np.where(near, g_r + g_mr, -np.inf).max(axis=1), rtol=0, atol=0)
    np.testing.assert_array_equal(any_near, near.any(axis=1))
    assert near.any(axis=1).sum() > n_t // 2


def test_angle_order_sorts_like_a_stable_argsort():
    rng = np.random.default_rng(5)
    angle = rng.uniform(-np.pi, np.pi, (3, 656))
    angle[:, 10:20] = angle[:, 10:11]  # ties keep index order
    angle[0, 0], angle[0, 1] = -np.pi, np.pi
    got = np.asarray(_angle_order(jnp.asarray(angle)))
    np.testing.assert_array_equal(got, np.argsort(angle, axis=-1, kind="stable"))


def test_top_k_small_picks_like_lax_top_k():
    """Values and indices (ties by lowest index, -inf and inf included) equal ``jax.lax.top_k``'s."""
    import jax

    from microjax_core._select import top_k_small

    rng = np.random.default_rng(6)
    for n, k in [(15, 2), (656, 4), (640, 16), (3, 5), (1, 1)]:
        x = rng.normal(size=(4, n)).round(1) + 0.0  # ties; +0.0 turns -0.0 into 0.0 (top_k orders them)
        x[rng.uniform(size=x.shape) < 0.3] = -np.inf
        x[0, :2] = np.inf
        values, index = top_k_small(jnp.asarray(x), k)
        ref_values, ref_index = jax.lax.top_k(jnp.asarray(x), min(k, n))
        np.testing.assert_array_equal(np.asarray(index), np.asarray(ref_index))
        np.testing.assert_array_equal(np.asarray(values), np.asarray(ref_values))
