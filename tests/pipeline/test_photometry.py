"""Photometry readers: text and IPAC files, time offsets, magnitudes vs fluxes, bad input named."""
import numpy as np
import pytest

from pipeline.fit.photometry import PhotometryError, read_photometry


def _write(path, text):
    path.write_text(text)
    return path


def _rows(n=30, offset=2450000.0, mag=True):
    t = 9800.0 + np.arange(n) * 0.1 + (offset if offset else 0.0)
    v = 18.0 - 0.5 * np.exp(-((t - t.mean()) / 0.5) ** 2) if mag else 100.0 + 50 * np.exp(-((t - t.mean()) / 0.5) ** 2)
    e = np.full(n, 0.01 if mag else 2.0)
    return t, v, e


def test_text_magnitudes_full_jd(tmp_path):
    t, v, e = _rows()
    path = _write(tmp_path / "ogle.dat", "# OGLE photometry\n" + "".join(f"{a:.5f} {b:.4f} {c:.4f}\n" for a, b, c in zip(t, v, e)))
    (d,) = read_photometry(path)
    assert d.extra["kind"] == "mag" and d.time_note == "full JD" and len(d) == 30
    # flux = 10^(-0.4 (m - 27.615)); relative error = 0.4 ln10 sigma_m
    np.testing.assert_allclose(d.flux, 10 ** (-0.4 * (np.round(v, 4) - 27.615)))
    np.testing.assert_allclose(d.flux_err / d.flux, 0.4 * np.log(10) * 0.01)


def test_text_offset_times_and_bands(tmp_path):
    t, v, e = _rows(offset=0.0)
    lines = [f"{a:.5f} {b:.4f} {c:.4f} {'I' if k % 2 else 'V'}\n" for k, (a, b, c) in enumerate(zip(t, v, e))]
    path = _write(tmp_path / "kmt.txt", "# hjd-2450000 mag err band\n" + "".join(lines))
    ds = read_photometry(path)
    assert sorted(d.band for d in ds) == ["I", "V"]
    assert all("2450000 added" in d.time_note for d in ds)
    assert all(d.t.min() > 2.45e6 for d in ds)


def test_text_flux_header(tmp_path):
    t, v, e = _rows(mag=False)
    path = _write(tmp_path / "moa.txt", "# jd flux flux_err\n" + "".join(f"{a} {b} {c}\n" for a, b, c in zip(t, v, e)))
    (d,) = read_photometry(path)
    assert d.extra["kind"] == "flux"
    np.testing.assert_allclose(d.flux, v)


def test_ipac_table(tmp_path):
    t, v, e = _rows()
    head = ("\\fixlen = T\n\\ EVENT = OGLE-2005-BLG-390\n\\BAND = I\n"
            "|       HJD        |   mag   |  mag_err |\n|     double       |  double |  double  |\n"
            "|       days       |   mag   |   mag    |\n")
    body = "".join(f"  {a:16.5f}  {b:8.4f}  {c:8.4f}\n" for a, b, c in zip(t, v, e))
    (d,) = read_photometry(_write(tmp_path / "event.tbl", head + body))
    assert d.band == "I" and len(d) == 30 and d.extra["kind"] == "mag"


@pytest.mark.parametrize("text, problem", [
    ("2459800.1 18.0\n" * 20, "line 1: expected at least 3 columns"),
    ("2459800.1 18.0 0.01\n" * 5, "only 5 data rows"),
    ("2459800.1 18.0 0.01\n" * 12 + "2459800.2 abc 0.01\n", "line 13: mag 'abc' is not a number"),
    ("2459800.1 18.0 0.01\n" * 12 + "2459800.2 18.0 -0.01\n", "line 13: error must be positive"),
    ("2459800.1 18.0 0.01\n" * 12 + "2459800.2 nan 0.01\n", "line 13: mag is not a finite number"),
    ("5.0 18.0 0.01\n" * 12, "cannot tell the time system"),
])
def test_bad_text_files_are_named(tmp_path, text, problem):
    path = _write(tmp_path / "bad.dat", text)
    with pytest.raises(PhotometryError) as err:
        read_photometry(path)
    assert str(path) in str(err.value) and problem in str(err.value)


def test_bad_ipac_and_missing_file(tmp_path):
    head = "|  HJD  |  mag  |\n"
    with pytest.raises(PhotometryError, match="lack a time"):
        read_photometry(_write(tmp_path / "x.tbl", head + "2459800.1 18.0\n" * 12))
    with pytest.raises(PhotometryError, match="line 3: expected 3 columns"):
        read_photometry(_write(tmp_path / "y.tbl", "|  HJD  |  mag  | mag_err |\n2459800.1 18.0 0.01\n2459800.1 18.0\n"))
    with pytest.raises(PhotometryError, match="no such file"):
        read_photometry(tmp_path / "missing.dat")
    with pytest.raises(ValueError, match="kind='counts'"):
        read_photometry(tmp_path / "missing.dat", kind="counts")
