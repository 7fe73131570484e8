"""Past one Redis: run state, control plane and checkpoints on a real Redis Cluster (three
``redis-server --cluster-enabled yes`` nodes started here), RQ's queue on its own Redis
(``WAYBILL_QUEUE_URL``), workers in their own processes, a human deciding from another one."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path

import pytest
import redis
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.conformance import checkpointer_test, validate
from redis.cluster import RedisCluster
from rq import Queue

from console.ui.handles import NotConfiguredError, open_handles
from graph.runtime.queueing import enqueue_run
from graph.runtime.registry import Registry
from graph.runtime.service import RunService
from state.checkpoint import RedisSaver
from state.checkpoint.client import sync_client
from state.control.killcache import KillCache
from state.control.plane import ControlPlane
from state.keys import run_tag
from state.run_events import node_updates
from tests.integration.checkpoint_helpers.adapter import SyncSaverAsAsync
from tests.integration.runtime import APPROVER, ROOT, WorkerProcess, wait_status, worker_env
from tests.integration.test_checkpointer_conformance import IMPLEMENTED
from tests.integration.test_cli_redis import waybill
from tests.redis_cluster import Cluster, require_cluster_tools
from tests.redis_servers import ServerUnderTest, free_port
from tests.staff import PROCUREMENT_GROUPS, token_for

EXAMPLES = ROOT / "agents" / "procurement" / "examples"
TERMINAL = {"succeeded", "failed", "rejected", "killed"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    require_cluster_tools()
    started = Cluster(tmp_path_factory.mktemp("cluster"))
    started.start()
    yield started
    started.stop()


def _order(name: str) -> dict[str, object]:
    order: dict[str, object] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return order


def _keys(client: redis.Redis, run_id: str) -> dict[str, int]:
    """The run's keys, scanned on every node, and their slots."""
    assert isinstance(client, RedisCluster)
    found: dict[str, int] = {}
    pattern = run_tag(run_id).replace("{", "\\{").replace("}", "\\}") + ":*"
    for node in client.get_primaries():
        conn = node.redis_connection
        assert conn is not None
        for key in conn.scan_iter(match=pattern, count=1000):
            found[str(key)] = int(client.keyslot(key))  # the control plane decodes replies
    return found


def test_procurement_runs_end_to_end_on_a_redis_cluster(
    cluster: Cluster, server: ServerUnderTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue_url = server.url  # RQ's keys have no hash tags: its queue lives on its own Redis
    monkeypatch.setenv("WAYBILL_QUEUE_URL", queue_url)
    cp = ControlPlane.from_url(cluster.url)
    assert isinstance(cp.client, RedisCluster)
    raw = sync_client(cluster.url)
    queue = Queue("waybill", connection=redis.Redis.from_url(queue_url))
    svc = RunService(cp, Registry(), lambda run_id: _enqueue(queue, run_id), raw=raw)
    env = {"WAYBILL_QUEUE_URL": queue_url}
    workers = [WorkerProcess(cluster.url, tmp_path, f"w{i}", env=env) for i in range(2)]
    try:
        small = [svc.submit("procurement", _order("small_order"), who=APPROVER) for _ in range(6)]
        large = svc.submit("procurement", _order("large_order"), who=APPROVER).run_id
        for record in small:
            assert wait_status(cp, record.run_id, TERMINAL, 60).status == "succeeded"
        assert wait_status(cp, large, {"waiting"}, 60).status == "waiting"
        [esc] = cp.escalations.list_pending(newest=True)
        assert esc.run_id == large
        # a human of finance decides from another process, through the command line, with
        # her API token (users, groups and tokens live on the cluster too)
        ana = token_for(cluster.url, "ana", "approver", PROCUREMENT_GROUPS)
        decided = _waybill(
            cluster.url, queue_url, tmp_path, "decide", large, "--approve", token=ana
        )
        assert decided.returncode == 0, decided.stdout + decided.stderr
        assert wait_status(cp, large, TERMINAL, 60).status == "succeeded"
        shown = _waybill(cluster.url, queue_url, tmp_path, "show", large)
        assert "status: succeeded" in shown.stdout, shown.stdout + shown.stderr
        assert "approve by ana" in shown.stdout
        nodes = [u.node.name for u in node_updates(cp.events.read(large, count=500))]
        assert nodes.count("act place_order") == 1
        # the runs spread over the nodes; each run's keys sit in one slot
        runs = [large, *(r.run_id for r in small)]
        keys = {run_id: _keys(cp.client, run_id) for run_id in runs}
        assert {k.split(":")[2] for k in keys[large]} >= {"ck", "run", "events", "tape", "esc"}
        assert all(len(set(found.values())) == 1 for found in keys.values()), keys
        owners = {cp.client.get_node_from_key(run_tag(r)).name for r in runs}
        assert len(owners) > 1
        assert cp.audit.verify().ok
        assert queue.failed_job_registry.count == 0
    finally:
        for worker in workers:
            worker.stop()
    for worker in workers:
        assert "CROSSSLOT" not in worker.output(), worker.output()[-2000:]


def _waybill(
    url: str, queue_url: str, tmp: Path, *args: str, token: str = ""
) -> subprocess.CompletedProcess[str]:
    """The command line in its own process, on the cluster, with the queue's own Redis."""
    extra = {"WAYBILL_TOKEN": token} if token else {}
    return subprocess.run(
        [sys.executable, "-m", "console.cli", *args],
        env=worker_env(url, tmp, WAYBILL_QUEUE_URL=queue_url, **extra),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _enqueue(queue: Queue, run_id: str) -> None:
    enqueue_run(queue, run_id)


def test_the_checkpointer_passes_conformance_on_the_cluster(cluster: Cluster) -> None:
    # threads land on different nodes: copies, deletes by LangGraph run and prunes cross them
    async def factory() -> AsyncGenerator[BaseCheckpointSaver[str], None]:
        with RedisSaver.from_url(cluster.url) as saver:
            assert isinstance(saver.client, RedisCluster)
            yield SyncSaverAsAsync(saver)

    report = asyncio.run(validate(checkpointer_test(name="RedisSaver on a cluster")(factory)))
    failures = {cap: r.failures for cap, r in report.results.items() if r.tests_failed}
    assert not failures, failures
    assert all(report.results[cap].passed for cap in IMPLEMENTED)


def test_kill_switches_reach_a_process_on_the_cluster(cluster: Cluster) -> None:
    cp = ControlPlane.from_url(cluster.url)
    cache = KillCache(cp.client)
    cache.start()
    try:
        version = cache.version
        cp.kills.trip("workflow", "procurement", reason="test", user="ops")
        cache.wait(version, 5.0)
        found = cache.check(run_id="r", workflow="procurement", agent="intake")
        assert found is not None
        assert found.reason == "test"
        cp.kills.clear("workflow", "procurement")
        cache.wait(cache.version, 5.0)
        assert cache.check(run_id="r", workflow="procurement") is None
    finally:
        cache.close()
        cp.close()


def test_a_cluster_without_a_queue_url_is_one_line(cluster: Cluster, tmp_path: Path) -> None:
    done = waybill(cluster.url, tmp_path, "worker", "--burst")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "waybill: REDIS_URL is a Redis Cluster, where RQ's queue cannot live (its keys have no "
        "hash tags): set WAYBILL_QUEUE_URL to a plain Redis for the queue"
    ]


NO_QUEUE_URL = (
    "waybill: REDIS_URL is a Redis Cluster, where RQ's queue cannot live (its keys have no "
    "hash tags): set WAYBILL_QUEUE_URL to a plain Redis for the queue"
)
# what a user runs with the queue's Redis misconfigured; each must end at once, in one line
COMMANDS = {
    "worker": ["worker", "--burst"],
    "run": ["run", "procurement", "--example", "small_order"],
    "runs": ["runs"],
    "console": ["console", "--port", "0"],
    "up": ["up", "--workers", "1", "--port", "0"],
}


def _queue_on(queue: str) -> str:
    return (
        f"waybill: WAYBILL_QUEUE_URL ({queue}) is a node of a Redis Cluster, where RQ's queue "
        "cannot live (its keys have no hash tags): the queue needs a plain Redis or Valkey"
    )


def _refused(url: str, tmp: Path, command: str, **env: str) -> str:
    """``waybill COMMAND`` in its own process: its one line (it must end quickly, with 1)."""
    args = [str(free_port()) if a == "0" else a for a in COMMANDS[command]]
    done = subprocess.run(
        [sys.executable, "-m", "console.cli", *args],
        env=worker_env(url, tmp, **env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    [line] = done.stderr.strip().splitlines()
    return line


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_queue_url_on_a_cluster_node_is_one_line(
    cluster: Cluster, tmp_path: Path, command: str
) -> None:
    queue = f"redis://127.0.0.1:{cluster.ports[1]}/0"  # another node than REDIS_URL's
    line = _refused(cluster.url, tmp_path, command, WAYBILL_QUEUE_URL=queue)
    assert line == _queue_on(queue)


def test_the_queue_on_the_state_s_own_cluster_is_one_line(cluster: Cluster, tmp_path: Path) -> None:
    line = _refused(cluster.url, tmp_path, "run", WAYBILL_QUEUE_URL=cluster.url)
    assert line == _queue_on(cluster.url)


def test_a_queue_url_on_a_cluster_is_refused_with_the_state_on_a_plain_redis(
    cluster: Cluster, server: ServerUnderTest, tmp_path: Path
) -> None:
    line = _refused(server.url, tmp_path, "worker", WAYBILL_QUEUE_URL=cluster.url)
    assert line == _queue_on(cluster.url)


@pytest.mark.parametrize("command", ["console", "up"])
def test_serving_on_a_cluster_without_a_queue_url_is_one_line(
    cluster: Cluster, tmp_path: Path, command: str
) -> None:
    assert _refused(cluster.url, tmp_path, command) == NO_QUEUE_URL


def test_the_console_s_pages_refuse_a_queue_on_a_cluster(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = f"redis://127.0.0.1:{cluster.ports[2]}/0"
    monkeypatch.setenv("WAYBILL_QUEUE_URL", queue)
    with pytest.raises(NotConfiguredError) as refused:  # shown by the pages' guard, one line
        open_handles(cluster.url)
    assert f"waybill: {refused.value}" == _queue_on(queue)
