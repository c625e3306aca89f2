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


def test_planned_subcommand_says_not_yet_available(capsys):
    assert cli.main(["query", "catalog/"]) == 2
    assert "not yet available" in capsys.readouterr().err


def test_unknown_subcommand_is_an_error(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["simulatte"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_demo_runs_end_to_end(tmp_path):
    """The console script as a user runs it: prints the table and writes the plot."""
    out = subprocess.run([sys.executable, "-m", "workflows.cli", "demo", "--points", "200", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "2L1S (s=1.1, q=3e-3)" in out.stdout and "A_max" in out.stdout
    assert (tmp_path / "demo_light_curves.png").stat().st_size > 10_000


def test_demo_rejects_bad_points():
    with pytest.raises(SystemExit, match="--points must be >= 10"):
        cli.main(["demo", "--points", "3"])


def test_simulate_then_plot_from_the_command_line(tmp_path):
    out = tmp_path / "survey"
    env = {"MICROJAX_SURVEY_CACHE": "off", "PATH": "/usr/bin:/bin"}
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
