"""A receiver that answers ``200`` at once, then trickles its body one byte at a time: each
read gets a byte before a per-read timeout, so only a deadline on the whole attempt ends it."""

from __future__ import annotations

import socket
import threading


class TrickleReceiver:
    """``with TrickleReceiver(every_s=0.5) as r:`` serves ``r.url`` until the block ends."""

    def __init__(self, every_s: float, length: int = 100) -> None:
        self.every_s = every_s
        self.length = length
        self.requests = 0
        self._stop = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/hook"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:  # closed: the block ended
                return
            self.requests += 1
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)  # the request (small): its content does not matter here
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {self.length}\r\n\r\n"
                conn.sendall(head.encode())
                for _ in range(self.length):
                    if self._stop.wait(self.every_s):
                        return
                    conn.sendall(b".")
            except OSError:  # the client gave up
                return

    def __enter__(self) -> TrickleReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sock.close()
