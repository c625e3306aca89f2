"""Shared helpers for the benchmark scripts: machine description, timing, JSON output."""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def machine() -> dict:
    import jax

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "jax": jax.__version__,
            "backend": jax.default_backend(), "devices": [str(d) for d in jax.devices()]}


def best_time(fn, repeat=3):
    """Best wall time of ``repeat`` calls (fn must block until its result is ready).

    With ``BENCH_TIMING_LOCK=PATH`` set, the timed calls hold an exclusive lock on PATH, so
    benchmark processes run side by side (compiling in parallel) but never time at once.
    """
    lock = os.environ.get("BENCH_TIMING_LOCK")
    handle = open(lock, "a") if lock else None
    if handle:
        import fcntl
        fcntl.flock(handle, fcntl.LOCK_EX)
    try:
        best = float("inf")
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
        return best
    finally:
        if handle:
            handle.close()


def write_json(name: str, payload: dict) -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=float))
    return path
