"""The Parquet result catalog (DESIGN.md §5.4): atomic parts, a ledger of finished events, run records.

Layout under ``CATALOG``::

    catalog.json                                   schema version
    solutions/run_id=R/model_type=M/part-*.parquet  one part per event and model type
    posteriors/run_id=R/part-*.parquet              draws keyed by solution_id
    _ledger/run_id=R/event-<id>.json               written last: the event is finished
    runs/<R>.json                                  config, versions, dashboard, timings

Every file is written to a temporary name in its final directory, then renamed
(atomic on one filesystem). An event counts as finished only when its ledger entry
exists, and readers load only the parts the ledger names, so a writer killed midway
leaves nothing visible and a rerun replaces the entry: no partial files, no duplicates.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pads

from . import schema
from .atomic import write_bytes, write_table

__all__ = ["Catalog", "CatalogError"]


class CatalogError(ValueError):
    """A catalog directory that cannot be used (other schema version, not a catalog, ...)."""


def _now():
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Catalog:
    """A catalog directory; created on first use, refused if written by another schema version."""

    def __init__(self, root, *, create: bool = True):
        self.root = Path(root)
        marker = self.root / "catalog.json"
        if marker.exists():
            try:
                meta = json.loads(marker.read_text())
            except json.JSONDecodeError as exc:
                raise CatalogError(f"{marker}: not valid JSON ({exc})") from None
            if meta.get("schema_version") != schema.SCHEMA_VERSION:
                raise CatalogError(f"{self.root}: catalog schema version {meta.get('schema_version')!r}, this "
                                   f"microjax-survey writes version {schema.SCHEMA_VERSION}; use a new catalog "
                                   "directory")
        elif create:
            if self.root.exists() and any(p.name != ".DS_Store" for p in self.root.iterdir()):
                raise CatalogError(f"{self.root} exists, is not empty and is not a microjax-survey catalog")
            write_bytes(marker, json.dumps({"schema_version": schema.SCHEMA_VERSION, "created_utc": _now()},
                                             indent=1).encode())
        else:
            raise CatalogError(f"{self.root} is not a microjax-survey catalog (no catalog.json)")

    # --- writing -------------------------------------------------------------------
    def write_event(self, run_id: str, event_id: int, solutions: pa.Table, posterior: pa.Table) -> dict:
        """Write one event's solutions and draws, then its ledger entry (the commit point)."""
        token = uuid.uuid4().hex[:10]
        solutions = solutions.set_column(solutions.schema.get_field_index("run_id"), "run_id",
                                         pa.array([run_id] * solutions.num_rows, pa.string()))
        parts = []
        for model_type in sorted(set(solutions.column("model_type").to_pylist())):
            rows = solutions.filter(pa.compute.equal(solutions.column("model_type"), model_type))
            rel = Path("solutions") / f"run_id={run_id}" / f"model_type={model_type or 'none'}" / \
                f"part-e{event_id}-{token}.parquet"
            write_table(self.root / rel, rows.drop_columns(["run_id", "model_type"]))
            parts.append(str(rel))
        if posterior.num_rows:
            posterior = posterior.set_column(posterior.schema.get_field_index("run_id"), "run_id",
                                             pa.array([run_id] * posterior.num_rows, pa.string()))
            rel = Path("posteriors") / f"run_id={run_id}" / f"part-e{event_id}-{token}.parquet"
            write_table(self.root / rel, posterior.drop_columns(["run_id"]))
            parts.append(str(rel))
        statuses = solutions.column("status").to_pylist()
        status = "ok" if "ok" in statuses else ("unconverged" if "unconverged" in statuses else "failed")
        entry = {"run_id": run_id, "event_id": int(event_id), "status": status, "n_solutions": solutions.num_rows,
                 "parts": parts, "finished_utc": _now()}
        write_bytes(self.root / "_ledger" / f"run_id={run_id}" / f"event-{int(event_id)}.json",
                      json.dumps(entry).encode())
        return entry

    def write_run(self, run_id: str, record: dict):
        write_bytes(self.root / "runs" / f"{run_id}.json", json.dumps(record, indent=1, default=str).encode())

    # --- reading -------------------------------------------------------------------
    def run_ids(self) -> list[str]:
        return sorted(p.stem for p in (self.root / "runs").glob("*.json"))

    def run_record(self, run_id: str) -> dict:
        path = self.root / "runs" / f"{run_id}.json"
        if not path.exists():
            raise CatalogError(f"{self.root}: no run {run_id!r}; runs: {self.run_ids() or 'none'}")
        return json.loads(path.read_text())

    def ledger(self, run_id: str | None = None) -> list[dict]:
        """Finished events (one entry per run and event)."""
        base = self.root / "_ledger"
        dirs = [base / f"run_id={run_id}"] if run_id else sorted(base.glob("run_id=*"))
        return [json.loads(p.read_text()) for d in dirs for p in sorted(d.glob("event-*.json"))]

    def finished(self, run_id: str) -> set[int]:
        return {e["event_id"] for e in self.ledger(run_id)}

    def _files(self, kind: str, run_id: str | None):
        return [str(self.root / p) for e in self.ledger(run_id) for p in e["parts"] if p.startswith(kind)]

    def dataset(self, kind: str = "solutions", run_id: str | None = None) -> pads.Dataset:
        """A pyarrow dataset over the committed parts (hive partitions ``run_id``, ``model_type``)."""
        if kind not in ("solutions", "posteriors"):
            raise ValueError(f"kind={kind!r} is not 'solutions' or 'posteriors'")
        files = self._files(kind, run_id)
        full = schema.SOLUTIONS if kind == "solutions" else schema.POSTERIOR
        keys = ("run_id", "model_type") if kind == "solutions" else ("run_id",)
        part_schema = pa.schema([full.field(k) for k in keys])
        file_schema = pa.schema([f for f in full if f.name not in keys] + list(part_schema))
        return pads.dataset(files, schema=file_schema, format="parquet",
                            partitioning=pads.partitioning(part_schema, flavor="hive"),
                            partition_base_dir=str(self.root / kind))

    def solutions(self, run_id: str | None = None, *, filter=None, columns=None) -> pa.Table:
        return self.dataset("solutions", run_id).to_table(filter=filter, columns=columns)

    def posteriors(self, run_id: str | None = None, *, filter=None, columns=None) -> pa.Table:
        return self.dataset("posteriors", run_id).to_table(filter=filter, columns=columns)
