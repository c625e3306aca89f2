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
