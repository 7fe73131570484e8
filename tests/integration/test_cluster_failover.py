"""A Redis Cluster primary lost under load: three primaries with a replica each (six
``redis-server`` processes started here), two workers executing a stream of procurement runs,
and the primary that holds runs killed outright; its replica takes over, and every run accepted
ends, with its order placed once."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster
from rq import Queue

from graph.runtime.queueing import enqueue_run
from graph.runtime.registry import Registry
from graph.runtime.service import RunService
from state.checkpoint.client import sync_client
from state.control.outage import OUTAGE_ERRORS
from state.control.plane import ControlPlane
from state.keys import run_tag
from state.run_events import node_updates
from tests.integration.runtime import APPROVER, ROOT, WorkerProcess, wait_status
from tests.redis_cluster import Cluster, require_cluster_tools
from tests.redis_servers import ServerUnderTest

pytestmark = pytest.mark.integration

ORDER: dict[str, object] = json.loads(
    (ROOT / "agents" / "procurement" / "examples" / "small_order.json").read_text()
)


def _enqueue(queue: Queue, run_id: str) -> None:
    enqueue_run(queue, run_id)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    require_cluster_tools()
    started = Cluster(tmp_path / "cluster", replicas=1)
    started.start()
    yield started
    started.stop()


def test_runs_ride_out_the_loss_of_a_primary(
    cluster: Cluster, server: ServerUnderTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue_url = server.url
    monkeypatch.setenv("WAYBILL_QUEUE_URL", queue_url)
    cp = ControlPlane.from_url(cluster.url)
    queue = Queue("waybill", connection=redis.Redis.from_url(queue_url))
    svc = RunService(cp, Registry(), partial(_enqueue, queue), raw=sync_client(cluster.url))
    env = {"WAYBILL_QUEUE_URL": queue_url}
    workers = [WorkerProcess(cluster.url, tmp_path, f"w{i}", env=env) for i in range(2)]
    accepted: list[str] = []
    refused: list[str] = []
    try:
        first = svc.submit("procurement", ORDER, who=APPROVER).run_id
        assert wait_status(cp, first, {"succeeded"}, 60).status == "succeeded"
        assert isinstance(cp.client, RedisCluster)
        victim = cp.client.get_node_from_key(run_tag(first)).port
        started = time.monotonic()
        while time.monotonic() - started < 6:
            if victim in cluster.ports and time.monotonic() - started > 1.5:
                cluster.process_of(victim).kill()  # SIGKILL: no goodbye to the cluster
                cluster.process_of(victim).wait(timeout=10)
                victim = -1
            try:
                accepted.append(svc.submit("procurement", ORDER, who=APPROVER).run_id)
            except OUTAGE_ERRORS as exc:  # its slots wait for the replica: refused, said so
                refused.append(type(exc).__name__)
            time.sleep(0.05)
        assert victim == -1
        statuses = {r: wait_status(cp, r, {"succeeded", "failed", "killed"}, 120) for r in accepted}
        assert {rec.status for rec in statuses.values()} == {"succeeded"}, {
            r: (rec.status, rec.reason) for r, rec in statuses.items() if rec.status != "succeeded"
        }
        for run_id in [first, *accepted]:
            nodes = [u.node.name for u in node_updates(cp.events.read(run_id, count=500))]
            assert nodes.count("act place_order") == 1, (run_id, nodes)
        assert len(accepted) > 20  # most submissions went through, before and after the loss
    finally:
        for worker in workers:
            worker.stop()
        cp.close()
    for worker in workers:
        out = worker.output()
        assert "Traceback" not in out, out[-3000:]
