"""Catalog: atomic parts, ledger-gated reads (no partial files, no duplicates), schema-version refusal, queries."""
import json

import numpy as np
import pyarrow as pa
import pytest

from pipeline import schema
from pipeline.catalog import Catalog, CatalogError
from pipeline.query import QueryError, parse_where, query


def _solutions(event_id, model_types=("1L1S",), status="ok"):
    rows = []
    for k, mt in enumerate(model_types):
        row = {c: None for c in schema.SOLUTIONS.names}
        row.update(event_id=event_id, solution_id=f"{event_id}-{mt}-{k}", model_type=mt, mode_label=mt,
                   is_best=k == 0, relative_probability=1.0 / len(model_types), status=status, chi2=100.0 + k,
                   q_median=1e-3 if mt == "2L1S" else None, tE_median=10.0 + event_id)
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=schema.SOLUTIONS)


def _draws(event_id, n=4):
    cols = {"event_id": np.full(n, event_id), "solution_id": [f"{event_id}-1L1S-0"] * n, "run_id": [""] * n,
            "chain": np.zeros(n, np.int16), "draw": np.arange(n, dtype=np.int32)}
    cols.update({p: np.full(n, np.nan) for p in schema.PARAMETERS})
    cols["tE"] = np.linspace(9, 11, n)
    return schema.table(cols, schema.POSTERIOR)


def test_write_read_and_rerun_replaces(tmp_path):
    cat = Catalog(tmp_path / "cat")
    cat.write_event("r1", 1, _solutions(1, ("1L1S", "2L1S")), _draws(1))
    cat.write_event("r1", 2, _solutions(2), _draws(2))
    sol = cat.solutions("r1").to_pandas()
    assert sorted(sol.event_id) == [1, 1, 2] and set(sol.run_id) == {"r1"}
    assert cat.finished("r1") == {1, 2}
    # a second attempt of event 1 (e.g. a retried task) replaces the first: never duplicates
    cat.write_event("r1", 1, _solutions(1), _draws(1))
    sol = cat.solutions("r1").to_pandas()
    assert sorted(sol.event_id) == [1, 2]
    assert cat.posteriors("r1").num_rows == 8
    # an orphan part (writer killed before its ledger entry) is invisible
    orphan = tmp_path / "cat" / "solutions" / "run_id=r1" / "model_type=1L1S" / "part-e3-dead.parquet"
    import pyarrow.parquet as pq
    pq.write_table(_solutions(3).drop_columns(["run_id", "model_type"]), orphan)
    assert 3 not in set(cat.solutions("r1").to_pandas().event_id)
    assert not list((tmp_path / "cat").rglob(".tmp-*"))


def test_schema_version_and_foreign_directories(tmp_path):
    Catalog(tmp_path / "cat")
    (tmp_path / "cat" / "catalog.json").write_text(json.dumps({"schema_version": 99}))
    with pytest.raises(CatalogError, match="schema version 99"):
        Catalog(tmp_path / "cat")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(CatalogError, match="not empty"):
        Catalog(tmp_path / "other")
    with pytest.raises(CatalogError, match="no catalog.json"):
        Catalog(tmp_path / "nothing", create=False)


def test_where_filters_prune_and_name_errors(tmp_path):
    cat = Catalog(tmp_path / "cat")
    for e in range(4):
        cat.write_event("r1", e, _solutions(e, ("2L1S",) if e % 2 else ("1L1S",)), _draws(e))
    ds = cat.dataset("solutions")
    t = query(ds, where="model_type == '2L1S' and q_median < 0.01", columns=["event_id", "q_median"])
    assert sorted(t.column("event_id").to_pylist()) == [1, 3]
    t = query(ds, where="event_id in (0, 3) and not (tE_median > 12.5)", columns=["event_id"])
    assert t.column("event_id").to_pylist() == [0]
    with pytest.raises(QueryError, match="unknown column 'mass'"):
        query(ds, where="mass > 1")
    with pytest.raises(QueryError, match="not a valid expression"):
        query(ds, where="tE_median >")
    with pytest.raises(QueryError, match="unknown columns"):
        query(ds, columns=["nope"])
    with pytest.raises(QueryError, match="unsupported syntax"):
        parse_where("__import__('os')", ds.schema.names)


def test_sql_through_duckdb(tmp_path):
    pytest.importorskip("duckdb")
    from pipeline.query import sql

    cat = Catalog(tmp_path / "cat")
    for e in range(3):
        cat.write_event("r1", e, _solutions(e, ("1L1S", "2L1S") if e else ("1L1S",)), _draws(e))
    t = sql(cat, "SELECT model_type, count(*) AS n FROM solutions GROUP BY model_type ORDER BY model_type")
    assert t.to_pydict() == {"model_type": ["1L1S", "2L1S"], "n": [3, 2]}
    t = sql(cat, "SELECT count(*) AS n FROM posteriors WHERE tE > 9.5")
    assert t.column("n").to_pylist() == [9]  # 3 events x 3 of 4 draws in linspace(9, 11, 4) above 9.5
    with pytest.raises(QueryError, match="--sql"):
        sql(cat, "SELECT nope FROM solutions")
