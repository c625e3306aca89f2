"""The pipeline's progress page on the scheduler's dashboard server."""
import json
import urllib.request

import pytest

distributed = pytest.importorskip("distributed")

from pipeline import dashboard  # noqa: E402


def test_progress_page_shows_what_the_client_reported():
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address="127.0.0.1:0") as cluster, distributed.Client(cluster) as client:
        link = dashboard.install(client)
        assert link is not None and link.endswith("/microjax-survey")
        url = f"http://127.0.0.1:{cluster.scheduler.http_server.port}/microjax-survey"  # bound to loopback
        dashboard.report(client, "run-a", n_events=10, counts={"ok": 3, "unconverged": 1, "failed": 1},
                         remaining=5, elapsed_s=60.0, health={"r_hat_over_1_01": 1, "with_divergences": 2})
        snap = json.loads(urllib.request.urlopen(url + ".json", timeout=10).read())
        run = snap["runs"]["run-a"]
        assert run["counts"] == {"ok": 3, "unconverged": 1, "failed": 1} and run["remaining"] == 5
        assert run["events_per_hour"] == pytest.approx(300.0)  # 5 events in 60 s
        page = urllib.request.urlopen(url, timeout=10).read().decode()
        assert "run-a" in page and "<td>300</td>" in page
        # installing twice (a second submit on the same cluster) keeps one page
        assert dashboard.install(client) == link
        assert urllib.request.urlopen(url + ".json", timeout=10).status == 200
