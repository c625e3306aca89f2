"""Pipeline progress on the Dask dashboard: a scheduler plugin serving ``/microjax-survey``.

``submit`` registers :class:`PipelineProgress` on the scheduler and, after each event,
stores the run's counts in the scheduler's metadata (``Client.set_metadata``). The
plugin adds two pages to the scheduler's HTTP server (the dashboard port, e.g.
``http://127.0.0.1:8787``): ``/microjax-survey`` (an HTML table that refreshes itself:
events done / ok / unconverged / failed / remaining, events per hour, R-hat and
divergence summary, the fit tasks the scheduler is running now) and
``/microjax-survey.json`` (the same as JSON, for scripts and monitoring). Dask's own
pages (task stream, progress, workers) show the ``fit-<event>-<config>`` tasks.
"""
from __future__ import annotations

import html
import json

from distributed.diagnostics.plugin import SchedulerPlugin

__all__ = ["PipelineProgress", "METADATA_KEY", "PAGE"]

METADATA_KEY = "microjax-survey"
PAGE = "/microjax-survey"


def _snapshot(scheduler) -> dict:
    runs = scheduler.get_metadata(keys=[METADATA_KEY], default={}) or {}
    states: dict[str, int] = {}
    running = []
    for key, ts in scheduler.tasks.items():
        name = key if isinstance(key, str) else str(key)
        if not name.startswith("fit-"):
            continue
        states[ts.state] = states.get(ts.state, 0) + 1
        if ts.state == "processing":
            running.append({"key": name, "worker": ts.processing_on.address if ts.processing_on else ""})
    return {"runs": runs, "fit_tasks": states, "running": sorted(running, key=lambda r: r["key"])}


def _handlers(scheduler):
    from tornado import web

    class JSONHandler(web.RequestHandler):
        def get(self):
            self.set_header("Content-Type", "application/json")
            self.write(json.dumps(_snapshot(scheduler), default=str))

    class PageHandler(web.RequestHandler):
        def get(self):
            snap = _snapshot(scheduler)
            rows = []
            for run_id, r in sorted(snap["runs"].items()):
                c = r.get("counts", {})
                rows.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
                    run_id, r.get("n_events", ""), sum(c.values()), c.get("ok", 0), c.get("unconverged", 0),
                    c.get("failed", 0), r.get("remaining", ""), f"{r.get('events_per_hour', 0):.0f}",
                    r.get("r_hat_over_1_01", ""), r.get("with_divergences", ""), r.get("status", ""))) + "</tr>")
            running = "".join(f"<li>{html.escape(t['key'])} on {html.escape(t['worker'])}</li>"
                              for t in snap["running"])
            self.write(f"""<!doctype html><html><head><meta http-equiv="refresh" content="5">
<title>microjax-survey progress</title><style>body{{font-family:sans-serif}} td,th{{padding:2px 10px;
border-bottom:1px solid #ddd}}</style></head><body><h2>microjax-survey: survey fits</h2>
<table><tr><th>run</th><th>events</th><th>done</th><th>ok</th><th>unconverged</th><th>failed</th>
<th>remaining</th><th>events/hour</th><th>R-hat &ge; 1.01</th><th>with divergences</th><th>status</th></tr>
{''.join(rows) or '<tr><td colspan=11>no run has reported yet</td></tr>'}</table>
<h3>fit tasks on the scheduler</h3><p>{html.escape(json.dumps(snap['fit_tasks']))}</p><ul>{running}</ul>
<p><a href="/status">Dask status</a> &middot; <a href="{PAGE}.json">JSON</a></p></body></html>""")

    return [(PAGE, PageHandler), (PAGE + ".json", JSONHandler)]


class PipelineProgress(SchedulerPlugin):
    """Adds ``/microjax-survey`` and ``/microjax-survey.json`` to the scheduler's dashboard server."""

    name = "microjax-survey-progress"

    async def start(self, scheduler) -> None:
        app = getattr(scheduler, "http_application", None)
        if app is None or getattr(scheduler, "_microjax_survey_page", False):
            return
        from tornado import web

        app.add_application(web.Application(_handlers(scheduler)))
        scheduler._microjax_survey_page = True


def _registered(dask_scheduler=None) -> bool:
    return PipelineProgress.name in dask_scheduler.plugins


def install(client) -> str | None:
    """Register the plugin on the client's scheduler; the page's URL, or None where it cannot be added."""
    try:
        if not client.run_on_scheduler(_registered):
            client.register_plugin(PipelineProgress())
    except Exception:  # noqa: BLE001 - a scheduler without this package still runs the pipeline
        return None
    link = client.dashboard_link or ""
    return link.rsplit("/", 1)[0] + PAGE if link else None


def report(client, run_id: str, *, n_events: int, counts: dict, remaining: int, elapsed_s: float,
           health: dict, status: str = "running") -> None:
    """Store one run's progress in the scheduler's metadata (read by the page)."""
    n = sum(counts.values())
    value = {"n_events": n_events, "counts": dict(counts), "remaining": remaining,
             "events_per_hour": 3600.0 * n / elapsed_s if n and elapsed_s > 0 else 0.0, "status": status, **health}
    try:
        client.set_metadata([METADATA_KEY, run_id], value)
    except Exception:  # noqa: BLE001 - progress display must never stop a run
        pass
