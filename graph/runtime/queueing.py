"""Where the runs queue lives and what it holds: one job per execution of a run, named after it.

Kept apart from ``graph.runtime.jobs`` (what a worker does with a job) so that a process that
only queues runs or reads the queue (the command line, the console) does not load the executor,
LangGraph and the workflows.
"""

from __future__ import annotations

import re
import uuid

import redis
from rq import Queue, Retry
from rq.job import Job

from state.cluster import clustered
from state.control.connection import mask_url
from state.errors import WaybillError
from state.keys import global_key
from state.settings import get_settings

JOB_TIMEOUT_S = 3600
RETRY = Retry(max=3, interval=[1, 2, 5])
EXECUTE = "graph.runtime.jobs.execute_run"
"""The job's function, by name: a worker imports it, the queueing side need not."""


class QueueNeedsItsOwnRedis(WaybillError):  # noqa: N818 - reads as what is wrong
    """RQ's queue would be on a Redis Cluster: the state is on one and no ``WAYBILL_QUEUE_URL``
    says where the queue is, or ``WAYBILL_QUEUE_URL`` names a node of one."""


def _queue_on_a_cluster(queue: str) -> QueueNeedsItsOwnRedis:
    return QueueNeedsItsOwnRedis(
        f"WAYBILL_QUEUE_URL ({mask_url(queue)}) is a node of a Redis Cluster, where RQ's queue "
        "cannot live (its keys have no hash tags): the queue needs a plain Redis or Valkey"
    )


def queue_url(url: str, state: redis.Redis) -> str:
    """Where the runs queue lives: ``WAYBILL_QUEUE_URL``, else the state's own Redis.

    What the URL's server is, is checked by :func:`plain_queue` on a client opened on it.

    Raises:
        QueueNeedsItsOwnRedis: ``state`` is a cluster client and no queue URL is set, or the
            queue URL is the state's own.
    """
    settings = get_settings()
    if settings.queue_url is not None:
        queue = settings.queue_url.get_secret_value()
        if queue == url and clustered(state):
            raise _queue_on_a_cluster(queue)
        return queue
    if clustered(state):
        raise QueueNeedsItsOwnRedis(
            "REDIS_URL is a Redis Cluster, where RQ's queue cannot live (its keys have no hash "
            "tags): set WAYBILL_QUEUE_URL to a plain Redis for the queue"
        )
    return url


def plain_queue(client: redis.Redis, queue: str) -> redis.Redis:
    """``client``, opened on the queue's URL ``queue``, unless it is a cluster client (the
    clients of ``state.control.connection.connect`` and ``state.checkpoint.client`` are, on a
    node of a cluster): then it is closed.

    Raises:
        QueueNeedsItsOwnRedis: ``client`` is a cluster client.
    """
    if clustered(client):
        client.close()
        raise _queue_on_a_cluster(queue)
    return client


def job_prefix(run_id: str) -> str:
    """RQ job ids allow letters, digits, ``_`` and ``-`` only.

    New run ids use that alphabet already (``state.keys.RUN_ID_PATTERN``), so the prefix names
    one run; older ids with other characters have them replaced.
    """
    return "run-" + re.sub(r"[^A-Za-z0-9_-]", "_", run_id) + "-"


def job_of_key(run_id: str) -> str:
    """``wb:job:<run>`` in the queue's Redis: the id of the run's latest job (for sweepers)."""
    return global_key("job", run_id)


def enqueue_run(queue: Queue, run_id: str) -> Job:
    """Queue the execution (or resumption) of ``run_id``, and note the job for sweepers."""
    job = queue.enqueue(
        EXECUTE,
        run_id,
        job_id=job_prefix(run_id) + uuid.uuid4().hex[:8],
        retry=RETRY,
        job_timeout=JOB_TIMEOUT_S,
        description=f"waybill run {run_id}",
    )
    queue.connection.set(job_of_key(run_id), job.id, ex=JOB_TIMEOUT_S * 24)
    return job
