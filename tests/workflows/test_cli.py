import os
import re
import subprocess
import sys

import pytest

from workflows import cli


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in ["demo", "simulate", "submit", "monitor", "query", "fit", "plot"]:
        assert name in out


def test_unknown_subcommand_is_an_error(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["simulatte"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_demo_runs_end_to_end(tmp_path, compile_cache):
    """The main job as a user runs it (shrunk): simulate, fit on a LocalCluster, summary, query, plots."""
    out = subprocess.run([sys.executable, "-m", "workflows.cli", "demo", "--events", "2", "--mix", "1L1S=1",
                          "--workers", "1", "--warmup", "60", "--samples", "60", "--plots", "1",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=900,
                         env=dict(os.environ, **compile_cache))
    assert out.returncode == 0, out.stdout + out.stderr
    for text in ("dashboard: http", "Classification (true vs best-fit class)", "Query example", "demo finished in"):
        assert text in out.stdout, out.stdout
    assert list((tmp_path / "catalog" / "_ledger" / "run_id=demo").glob("event-*.json"))
    assert list((tmp_path / "plots").rglob("lightcurve.png"))


def test_demo_rejects_bad_events(capsys):
    assert cli.main(["demo", "--events", "0"]) == 2
    assert "--events must be a positive integer, got 0" in capsys.readouterr().err


def test_fit_command_on_a_photometry_file(tmp_path, compile_cache):
    import numpy as np
    import pandas as pd

    from pipeline.simulate.survey import simulate_survey

    obs, _, truth = next(iter(simulate_survey(1, mix="1L1S=1", seed=4, window="event")))
    obs = pd.DataFrame(obs)
    lines = "".join(f"{t - 2450000:.6f} {m:.5f} {e:.5f}\n" for t, m, e in zip(obs.bjd, obs.mag, obs.mag_err)
                    if np.isfinite(m))
    (tmp_path / "event.dat").write_text("# hjd-2450000 mag err\n" + lines)
    out = subprocess.run([sys.executable, "-m", "workflows.cli", "fit", str(tmp_path / "event.dat"), "--model", "1L1S",
                          "--warmup", "60", "--samples", "60", "--out", str(tmp_path / "fit"), "--progress", "draws"],
                         capture_output=True, text=True, timeout=900, env=dict(os.environ, **compile_cache))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2450000 added" in out.stdout and "1L1S" in out.stdout
    # the bar counted the transitions as drawn: 2 chains x (60 + 60), + 2 x 60 if the chains were continued,
    # + 2 x (120 + 120) if they were re-run longer (divergences)
    counts = [int(n) for n in re.findall(r"sampling 1L1S: (\d+) transitions", out.stderr)]
    assert counts and counts[-1] in (240, 360, 720), out.stderr[-2000:]
    for name in ("solutions.parquet", "posterior.parquet", "lightcurve.png", "corner.png"):
        assert (tmp_path / "fit" / name).exists(), name
    draws = pd.read_parquet(tmp_path / "fit" / "posterior.parquet")
    lo, hi = np.quantile(draws.tE, [0.005, 0.995])
    assert lo <= truth["tE"] <= hi, (lo, truth["tE"], hi)


def test_fit_command_bad_input_is_named(tmp_path, capsys):
    (tmp_path / "bad.dat").write_text("2459800.1 18.0 0.01\n" * 12 + "2459800.2 18.0 zero\n")
    assert cli.main(["fit", str(tmp_path / "bad.dat")]) == 2
    err = capsys.readouterr().err
    assert "bad.dat, line 13: error 'zero' is not a number" in err
    (tmp_path / "good.dat").write_text("".join(f"{2459800 + 0.1 * k} 18.0 0.01\n" for k in range(20)))
    assert cli.main(["fit", str(tmp_path / "good.dat"), "--parallax"]) == 2
    assert "parallax needs the event coordinates: ra and dec" in capsys.readouterr().err
    eph = tmp_path / "spitzer.txt"
    eph.write_text("2459790 0.5 0.5 0.1\n2459810 0.5 0.5 0.1\n")
    good = str(tmp_path / "good.dat")
    assert cli.main(["fit", good, "--ephemeris", f"{good}={eph}"]) == 2
    assert "--ephemeris needs --parallax" in capsys.readouterr().err
    assert cli.main(["fit", good, "--ephemeris", f"other.dat={eph}", "--parallax", "--ra", "270", "--dec", "-30"]) == 2
    assert "other.dat is not one of the photometry files" in capsys.readouterr().err
    assert cli.main(["fit", good, "--ephemeris", f"{good}={tmp_path / 'none.txt'}", "--parallax"]) == 2
    assert "none.txt: no such file" in capsys.readouterr().err
    assert cli.main(["fit", good, "--sampling-budget", "-5"]) == 2
    assert "--sampling-budget must be >= 0 seconds (0: no limit), got -5.0" in capsys.readouterr().err


def test_simulate_then_plot_from_the_command_line(tmp_path, compile_cache):
    out = tmp_path / "survey"
    env = {"PATH": "/usr/bin:/bin", **compile_cache}
    run = subprocess.run([sys.executable, "-m", "workflows.cli", "simulate", "--events", "3", "--mix", "1L1S=1",
                          "--window", "event", "--seed", "4", "--out", str(out), "--plot", "2"],
                         capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stderr
    assert "wrote 3 events" in run.stdout and "events/hour" in run.stdout
    assert "simulating" in run.stderr  # the progress bar
    for name in ["obs", "meta", "truth"]:
        assert list((out / name).glob("part-*.parquet"))
    assert (out / "manifest.json").exists() and (out / "lightcurves.png").stat().st_size > 10_000
    again = subprocess.run([sys.executable, "-m", "workflows.cli", "simulate", "--events", "3", "--out", str(out)],
                           capture_output=True, text=True, timeout=600, env=env)
    assert again.returncode == 2 and "not empty" in again.stderr
    plot = subprocess.run([sys.executable, "-m", "workflows.cli", "plot", str(out), "--events", "0", "1",
                           "--out", str(tmp_path / "two.png")], capture_output=True, text=True, timeout=600, env=env)
    assert plot.returncode == 0, plot.stderr
    assert (tmp_path / "two.png").stat().st_size > 10_000


@pytest.mark.parametrize("argv, message", [
    (["--mix", "1L1S=0.5,comet=0.5"], "unknown event class 'comet'"),
    (["--preset", "gbtds-1999"], "unknown survey preset"),
    (["--events", "0"], "--events must be a positive integer"),
])
def test_simulate_bad_options_are_named(tmp_path, capsys, argv, message):
    assert cli.main(["simulate", "--out", str(tmp_path / "s")] + argv) == 2
    assert message in capsys.readouterr().err


def test_plot_of_a_missing_survey_is_named(tmp_path, capsys):
    assert cli.main(["plot", str(tmp_path)]) == 2
    assert "not a simulated survey" in capsys.readouterr().err
