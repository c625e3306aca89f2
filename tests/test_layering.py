"""Import direction workflows -> pipeline -> microjax_core, and no global JAX config below workflows."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "microjax_core": {"pipeline", "workflows"},
    "pipeline": {"workflows"},
}


def _modules(package):
    return sorted((ROOT / package).rglob("*.py"))


def _imported_roots(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], node.lineno


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_import_direction(package):
    files = _modules(package)
    assert files, f"no modules found in {package}/"
    bad = [f"{p.relative_to(ROOT)}:{line} imports {mod}"
           for p in files for mod, line in _imported_roots(p) if mod in FORBIDDEN[package]]
    assert not bad, "layering violated:\n" + "\n".join(bad)


def _config_updates(path):
    """Calls of the form ``<...>.config.update(...)`` in a module (docstrings don't count)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "update"
                and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "config"):
            yield node.lineno


@pytest.mark.parametrize("package", ["microjax_core", "pipeline"])
def test_no_global_jax_config(package):
    bad = [f"{p.relative_to(ROOT)}:{line}" for p in _modules(package) for line in _config_updates(p)]
    assert not bad, f"jax.config.update found at {bad}: precision/platform are set by entry points only"


def test_config_update_detector_finds_a_call(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text('"""jax.config.update in a docstring is fine."""\nimport jax\njax.config.update("x", 1)\n')
    assert list(_config_updates(probe)) == [3]


def test_core_import_leaves_x64_alone():
    """Importing microjax_core in a fresh interpreter must not turn on x64."""
    import subprocess
    import sys

    code = "import microjax_core, jax; print(jax.config.jax_enable_x64)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={"PATH": "/usr/bin:/bin", "JAX_PLATFORMS": "cpu"}, check=True)
    assert out.stdout.strip() == "False"
