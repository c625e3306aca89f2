"""PROTOTYPE, not part of microjax_core: image-centred rays over Voronoi cells (issue 3).

Status (2026-11-26, measured by running this file): on the reference curve (s = 1,
q = 0.01, u0 = 0, alpha = 10 deg, tau in [-1, 1], rho = 1e-2, uniform source, 200 points)
against VBMicrolensing BinaryMag at 1e-7: median relative error 7e-10, but 25 points
inside the central caustic are off by up to 35%. The rays from image centres sample
thin arcs (near the critical curve) too coarsely in r and miss crossings; regions in
polar coordinates about the lens origin (DESIGN.md §4.4), where arcs are thin in r
but long in theta, are the next thing to try. Kept as a starting point for the ICRS
work: every root (true and false) is a centre, cells split by Voronoi bisectors so no
image is counted twice, crossings by linear interpolation + 3 Newton steps (the
implicit derivative), 1/2 sum(r_out^2 - r_in^2) per ray, periodic trapezoid in theta.

    python benchmarks/prototypes/icrs_voronoi_rays.py
"""
import sys
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import microjax_core as mc  # noqa: E402
from microjax_core.point_source import _images_local, lens_equation  # noqa: E402


def icrs_uniform(w, lens, rho, n_limb=64, n_theta=256, n_r=64, margin=1.3):
    z, is_img, _, origin, zs, wl = _images_local(w, lens, None, 100, 1e-12)
    eps = lens.masses()
    m = z.shape[0]
    centres = jax.lax.stop_gradient(z)
    # limb images
    phi = jnp.linspace(0, 2*np.pi, n_limb, endpoint=False)
    limb = w + rho*jnp.exp(1j*phi)
    lz, lmask, *_ = jax.vmap(lambda x: _images_local(x, lens, None, 100, 1e-12))(limb)
    lz = lz + 0  # local frame (same origin since lens same)
    pts = lz.reshape(-1); pm = lmask.reshape(-1)
    d = jnp.abs(pts[:, None] - centres[None, :])
    owner = jnp.argmin(d, axis=1)
    dist_own = jnp.take_along_axis(d, owner[:, None], axis=1)[:, 0]
    R = jnp.zeros(m).at[owner].max(jnp.where(pm, dist_own, 0.0))
    R = jax.lax.stop_gradient(R * margin + 2*rho*0)
    theta = jnp.linspace(0, 2*np.pi, n_theta, endpoint=False)
    e = jnp.exp(1j*theta)  # (T,)
    # voronoi cut per region per ray
    dc = centres[None, :] - centres[:, None]  # (m, m): c_j - c_k
    den = 2*jnp.real(dc[:, :, None]*jnp.conj(e)[None, None, :])  # (m,m,T)
    num = jnp.abs(dc)**2
    cut = jnp.where(den > 0, num[:, :, None]/jnp.where(den > 0, den, 1.0), jnp.inf)
    cut = jnp.where(jnp.eye(m, dtype=bool)[:, :, None], jnp.inf, cut)
    rcut = jnp.min(cut, axis=1)  # (m,T)
    r_end = jax.lax.stop_gradient(jnp.minimum(R[:, None], rcut))  # (m,T)
    s = jnp.linspace(0, 1, n_r+1)
    def f(r, k, t):
        zz = centres[k] + r*e[t]
        return jnp.abs(lens_equation(zz, zs, eps) - wl)**2 - rho**2
    def line(k, t):
        rs = r_end[k, t]*s
        fv = jax.vmap(lambda r: f(r, k, t))(rs)
        a, b = fv[:-1], fv[1:]
        change = (a*b < 0)
        ra, rb = rs[:-1], rs[1:]
        rstar = ra + (rb-ra)*a/jnp.where(change, a-b, 1.0)
        rstar = jax.lax.stop_gradient(jnp.where(change, rstar, ra))
        for _ in range(3):
            val, der = jax.jvp(lambda r: f(r, k, t), (rstar,), (jnp.ones_like(rstar),))
            rstar = rstar - jnp.where(change & (der != 0), val/jnp.where(der != 0, der, 1.0), 0.0)
        rstar = jnp.clip(rstar, ra, rb)
        going_out = a < 0
        contrib = jnp.sum(jnp.where(change, jnp.where(going_out, 0.5*rstar**2, -0.5*rstar**2), 0.0))
        contrib = contrib + jnp.where(fv[-1] < 0, 0.5*r_end[k, t]**2, 0.0)
        return jnp.where(r_end[k, t] > 0, contrib, 0.0)
    K, T = jnp.meshgrid(jnp.arange(m), jnp.arange(n_theta), indexing='ij')
    L = jax.vmap(jax.vmap(line))(K, T)
    return jnp.sum(L)*(2*np.pi/n_theta)/(np.pi*rho**2)


def main():
    import VBMicrolensing

    vb = VBMicrolensing.VBMicrolensing()
    vb.Tol = vb.RelTol = 1e-7
    lens = mc.BinaryLens(1.0, 0.01)
    tau = np.linspace(-1, 1, 200)
    a = np.deg2rad(10)
    w = tau * np.cos(a) + 1j * tau * np.sin(a)
    for rho in [1e-2]:
        f = jax.jit(jax.vmap(lambda x: icrs_uniform(x, lens, rho)))
        t = time.perf_counter()
        A = np.asarray(f(jnp.asarray(w)))
        dt = time.perf_counter() - t
        ref = np.array([vb.BinaryMag(1.0, 0.01, x.real, x.imag, rho, 1e-7) for x in w])
        e = np.abs(A / ref - 1)
        print(f"rho={rho}: max {e.max():.2e}, median {np.median(e):.2e}, points > 1e-4: {(e > 1e-4).sum()}"
              f"/{e.size}, compile+run {dt:.1f} s")


if __name__ == "__main__":
    main()
