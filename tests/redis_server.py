"""A real ``redis-server`` for tests: started on 127.0.0.1 on a free port in a temp dir, stopped afterwards.

No fakeredis: the limiter's guarantee rests on the server running its Lua script atomically on its own
clock, which only the real server shows. A *frozen* Redis (alive, its socket open, answering nothing) is the
real process stopped with SIGSTOP. Tests skip, saying why, where no ``redis-server`` binary exists.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import attrs

REDIS_SERVER = shutil.which("redis-server")
SKIP_REASON = (
    "no redis-server binary on PATH: install it (Debian: apt-get install redis-server) to run the "
    "shared-limiter tests"
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@attrs.define
class RedisServer:
    """One ``redis-server`` process; :meth:`stop` and :meth:`start` may be called repeatedly."""

    workdir: Path
    port: int = attrs.field(factory=_free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Start the server (on the same port as before, if restarted) and wait until it answers PING."""
        if REDIS_SERVER is None:
            raise RuntimeError(SKIP_REASON)
        args = [
            REDIS_SERVER,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.workdir),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--logfile", str(self.workdir / "redis.log"),
        ]  # fmt: skip
        # A fixed binary and our own arguments; no shell.
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        deadline = time.monotonic() + timeout
        while not _ping(self.port):
            if self.process.poll() is not None:
                log = (self.workdir / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server exited with {self.process.returncode}:\n{log}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout}s")
            time.sleep(0.02)

    def freeze(self) -> None:
        """Stop the process with SIGSTOP: connections stay open, nothing is answered (a hung Redis)."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """Let a frozen server run again (SIGCONT); harmless if it is not frozen."""
        if self.running:
            assert self.process is not None
            os.kill(self.process.pid, signal.SIGCONT)

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """Freeze the server for the duration of the block, thawing it however the block ends."""
        self.freeze()
        try:
            yield
        finally:
            self.thaw()

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s). Idempotent; a frozen server is thawed first."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGCONT)  # a stopped process would hold SIGTERM until continued
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[RedisServer]:
    """Run a fresh ``redis-server`` in ``workdir`` for the duration of the block.

    A port picked free may be taken by someone else before the server binds it, so try a few.
    """
    last: RuntimeError | None = None
    for _ in range(3):
        server = RedisServer(workdir)
        try:
            server.start()
        except RuntimeError as exc:
            last = exc
            continue
        try:
            yield server
        finally:
            server.stop()
        return
    assert last is not None
    raise last
