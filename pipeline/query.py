"""Catalog queries: ``--where`` expressions -> pyarrow filters (partition pruning), SQL through DuckDB.

``--where`` takes a Python-like boolean expression over column names:
``model_type == '2L1S' and q_median < 1e-2``, ``status in ('ok', 'unconverged')``,
``not is_best``, ``(chi2 / n_data_points) > 1.5``. It is parsed with ``ast`` (never
evaluated) and turned into a ``pyarrow.compute`` expression, so filters on the
partition columns (``run_id``, ``model_type``) prune whole directories.
"""
from __future__ import annotations

import ast
import operator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads

__all__ = ["QueryError", "parse_where", "query", "sql"]

_CMP = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
        ast.Gt: operator.gt, ast.GtE: operator.ge}
_ARITH = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


class QueryError(ValueError):
    """A query that cannot run: unknown column, bad expression, missing DuckDB."""


def parse_where(text: str, columns) -> pc.Expression:
    """A pyarrow expression from ``text``; unknown names raise ``QueryError`` listing the columns."""
    columns = list(columns)
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise QueryError(f"--where {text!r}: not a valid expression ({exc.msg})") from None

    def conv(node):
        if isinstance(node, ast.BoolOp):
            parts = [conv(v) for v in node.values]
            out = parts[0]
            for p in parts[1:]:
                out = (out & p) if isinstance(node.op, ast.And) else (out | p)
            return out
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ~conv(node.operand)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            v = conv(node.operand)
            return -v if not isinstance(v, pc.Expression) else pc.negate(v)
        if isinstance(node, ast.Compare):
            out, left = None, conv(node.left)
            for op, comp in zip(node.ops, node.comparators):
                if isinstance(op, (ast.In, ast.NotIn)):
                    if not isinstance(comp, (ast.Tuple, ast.List, ast.Set)):
                        raise QueryError(f"--where {text!r}: 'in' needs a literal list, e.g. x in ('a', 'b')")
                    e = left.isin([conv(v) for v in comp.elts])
                    e = ~e if isinstance(op, ast.NotIn) else e
                    right = None
                elif type(op) in _CMP:
                    right = conv(comp)
                    e = _CMP[type(op)](left, right)
                else:
                    raise QueryError(f"--where {text!r}: operator {type(op).__name__} is not supported")
                out = e if out is None else out & e
                left = right
            return out
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
            return _ARITH[type(node.op)](conv(node.left), conv(node.right))
        if isinstance(node, ast.Name):
            if node.id in ("True", "False"):
                return node.id == "True"
            if node.id not in columns:
                raise QueryError(f"--where {text!r}: unknown column {node.id!r}; columns: {', '.join(columns)}")
            return pc.field(node.id)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
            return node.value
        raise QueryError(f"--where {text!r}: unsupported syntax {ast.unparse(node)!r}")

    expr = conv(tree)
    if not isinstance(expr, pc.Expression):
        raise QueryError(f"--where {text!r}: not a condition on columns")
    return expr


def query(dataset: pads.Dataset, *, where: str | None = None, columns=None) -> pa.Table:
    """Rows of ``dataset`` matching ``where`` (see the module doc), restricted to ``columns``."""
    names = dataset.schema.names
    if columns:
        unknown = [c for c in columns if c not in names]
        if unknown:
            raise QueryError(f"unknown columns {unknown}; columns: {', '.join(names)}")
    filt = parse_where(where, names) if where else None
    try:
        return dataset.to_table(filter=filt, columns=list(columns) if columns else None)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise QueryError(f"--where {where!r}: {exc}") from None


def sql(catalog, statement: str) -> pa.Table:
    """Run ``statement`` with DuckDB over views ``solutions`` and ``posteriors`` (committed parts only)."""
    try:
        import duckdb
    except ImportError:
        raise QueryError("--sql needs DuckDB: pip install 'microjax-survey[sql]' (or use --where)") from None
    con = duckdb.connect()
    for kind in ("solutions", "posteriors"):
        con.register(kind, catalog.dataset(kind))
    try:
        rel = con.sql(statement)
        return rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()
    except duckdb.Error as exc:
        raise QueryError(f"--sql: {exc}") from None
