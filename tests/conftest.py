"""Strict test runtime: float64 on, and (pyproject) every warning is an error.

The tests are the entry point here, so they (not the library) enable x64.
"""
import gc

import jax
import pytest

jax.config.update("jax_enable_x64", True)


@pytest.fixture(scope="session")
def compile_cache(tmp_path_factory):
    """Environment for the subprocesses the tests start (command line, Dask workers): one JAX
    persistent compilation cache for the session, empty at its start, as a user's
    ``~/.cache/microjax-survey`` would be. The first process compiles; later ones load."""
    cache = str(tmp_path_factory.mktemp("jax-compilation-cache"))
    return {"MICROJAX_SURVEY_CACHE": cache, "JAX_COMPILATION_CACHE_DIR": cache,
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}


# The files that start Dask clusters and command-line processes run minutes each: first, so
# that with ``pytest -n 2 --dist loadfile`` (the Makefile) they overlap the rest instead of
# running alone at the end.
_LONG_FIRST = ("tests/pipeline/test_orchestrate.py", "tests/workflows/test_cli.py", "tests/pipeline/test_simulate.py")


def pytest_collection_modifyitems(config, items):
    def rank(item):
        path = item.nodeid.split("::")[0]
        return _LONG_FIRST.index(path) if path in _LONG_FIRST else len(_LONG_FIRST)
    items.sort(key=rank)  # stable: the order within each group is kept


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drop the compiled programs after each test file. Every XLA CPU program keeps memory
    mappings of its code; a pytest worker that kept all of the suite's reached the kernel's
    limit (``vm.max_map_count``, 65,530 here) and segfaulted in the compiler (session 27:
    54,734 maps in the surviving worker after 23 minutes; two core test files alone: 15,005 maps
    kept, ~600 with this)."""
    yield
    jax.clear_caches()
    gc.collect()
