"""How ``python -m app`` serves: one uvicorn server, or N workers with a listening socket each.

uvicorn's own workers share one listening socket, and whichever wakes first accepts a burst of new
connections: splits of 43/7 were measured at 50 connections, and at 10 all could land on one
worker, halving throughput. Here each worker gets its own socket bound with SO_REUSEPORT, and the
kernel hashes every new connection to one of them: an even split on average, whatever the timing.

The parent process is a small supervisor. It has loaded and checked the models once
(app.__main__), creates the sockets, forks the workers (which inherit the loaded models), and
keeps the sockets open: a connection queued for a worker that died waits for its replacement
instead of being reset. A worker that dies (kill -9, a crash) is replaced at once. SIGTERM or
SIGINT: the parent closes its copies of the sockets and passes SIGTERM to the workers, which stop
accepting, finish the requests in flight and exit; then the parent exits 0.

Both ways the server drains on SIGTERM: its port closes, then (with workers, half a second later,
once every worker's socket is closed) every answer carries ``Connection: close`` (DrainGate), so
a client posting in a loop gets its answer and then finds the port closed, rather than losing a
request sent on a kept-alive connection at the moment the server drops it; connections idle
after that are closed after at most DRAIN_SECONDS.
"""

import asyncio
import ctypes
import errno
import logging
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from types import FrameType

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

DRAIN_SECONDS = 2.0  # longest wait for kept-alive connections to finish their last request
WORKER_DRAIN_DELAY = 0.5  # every worker has closed its socket by then, even on a busy machine
BACKLOG = 2048  # uvicorn's default
STARTUP_FAILURE = 3  # uvicorn's exit code when the app's lifespan start-up fails
QUICK_DEATH_SECONDS = 5.0  # a worker dying this soon after its start counts towards a crash loop
MAX_QUICK_DEATHS = 5  # in a row, per worker slot: then the supervisor gives up
PR_SET_PDEATHSIG = 1  # prctl option: a signal for the child when its parent dies


class DrainGate:
    """Pure ASGI wrapper: once draining, every response asks the client to close the connection.

    uvicorn then closes each connection right after its answer, so in-flight requests finish and
    kept-alive clients reconnect (to a closed port) instead of racing the server's close.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.draining = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.draining or scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, send_closing)


class DrainingServer(uvicorn.Server):
    """uvicorn.Server that closes its port on the signal, then drains kept-alive connections.

    `drain_delay` (workers of the supervisor): the wait between closing this worker's socket and
    asking clients to reconnect, so that every worker's socket is closed by then; a reconnection
    that reached a sibling's still-open socket would wait in its backlog, and closing that socket
    resets it.
    """

    def __init__(self, config: uvicorn.Config, gate: DrainGate, drain_delay: float = 0.0) -> None:
        super().__init__(config)
        self.gate = gate
        self.drain_delay = drain_delay
        self.drain_at: float | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().startup(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """On the signal, stop accepting at once (uvicorn would wait for its next 0.1 s tick)."""
        loop = getattr(self, "loop", None)
        if loop is None:
            self.gate.draining = True
        else:
            loop.call_soon_threadsafe(self.stop_accepting)
        super().handle_exit(sig, frame)

    def stop_accepting(self) -> None:
        if self.drain_at is None:
            self.drain_at = time.monotonic() + self.drain_delay
        for server in getattr(self, "servers", []):
            server.close()  # uvicorn's shutdown closes them again, harmlessly

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.stop_accepting()
        await asyncio.sleep(max(0.0, (self.drain_at or 0.0) - time.monotonic()))
        self.gate.draining = True  # from now on each answer closes its connection
        deadline = time.monotonic() + DRAIN_SECONDS
        while self.server_state.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await super().shutdown(sockets)


def uvicorn_config(app: ASGIApp, host: str, port: int, **options: object) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, lifespan="on", **options)  # type: ignore[arg-type]


def serve_one(app: ASGIApp, host: str, port: int, **options: object) -> int:
    """One process: uvicorn binds the port itself; returns the exit code."""
    gate = DrainGate(app)
    server = DrainingServer(uvicorn_config(gate, host, port, **options), gate)
    server.run()
    return 0 if server.started else STARTUP_FAILURE


def port_in_use(host: str, port: int, family: int) -> bool:
    """True when another process listens there: SO_REUSEPORT alone would silently share it."""
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` sockets listening on one address, each with SO_REUSEPORT; port 0 picks one."""
    family, _, _, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    if port and port_in_use(address[0], port, family):
        raise OSError(errno.EADDRINUSE, f"{host}:{port} is already in use by another program")
    sockets: list[socket.socket] = []
    for _ in range(count):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        address = sock.getsockname()  # the port chosen by the first socket when asked for 0
        sock.listen(BACKLOG)
        sock.set_inheritable(True)
        sockets.append(sock)
    return sockets


def die_with_parent() -> None:
    """Linux: SIGTERM this worker if the supervisor dies (kill -9 of the parent)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class Supervisor:
    """Forks one worker per socket, replaces those that die, and stops them all on a signal."""

    def __init__(
        self,
        sockets: list[socket.socket],
        run_worker: Callable[[socket.socket], int],
        on_worker_death: Callable[[int], None] = lambda pid: None,
        on_replacement: Callable[[], None] = lambda: None,
    ) -> None:
        self.sockets = sockets
        self.run_worker = run_worker
        self.on_worker_death = on_worker_death
        self.on_replacement = on_replacement
        self.workers: dict[int, tuple[int, float]] = {}  # pid -> (slot, start time)
        self.quick_deaths = [0] * len(sockets)
        self.stopping = False
        self.exit_code = 0

    def start_worker(self, slot: int) -> None:
        blocked = {signal.SIGTERM, signal.SIGINT}
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)  # no signal mid-fork
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            self.worker_main(slot, previous)
        self.workers[pid] = (slot, time.monotonic())
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)

    def worker_main(self, slot: int, mask: set[signal.Signals]) -> None:
        """The forked worker: serve on its own socket, then leave without the parent's cleanup."""
        code = 1
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            die_with_parent()
            for index, sock in enumerate(self.sockets):
                if index != slot:
                    sock.close()
            code = self.run_worker(self.sockets[slot])
        except SystemExit as leaving:
            code = leaving.code if isinstance(leaving.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def stop(self, signum: int, frame: FrameType | None = None) -> None:
        """First signal: graceful stop. A second one: kill the workers (as a second Ctrl+C)."""
        if self.stopping:
            for pid in self.workers:
                os.kill(pid, signal.SIGKILL)
            return
        self.stopping = True
        for sock in self.sockets:
            sock.close()  # new connections are refused from now on, never queued for nobody
        for pid in self.workers:
            os.kill(pid, signal.SIGTERM)

    def run(self) -> int:
        """Serve until stopped; the exit code: 0 after a signal, 1 if workers cannot start."""
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        for slot in range(len(self.sockets)):
            self.start_worker(slot)
        while self.workers:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            slot, started = self.workers.pop(pid)
            self.on_worker_death(pid)
            if self.stopping:
                continue
            code = os.waitstatus_to_exitcode(status)
            if self.should_give_up(slot, code, time.monotonic() - started):
                self.exit_code = 1
                self.stop(signal.SIGTERM)
                continue
            logger.warning(
                "Worker %d stopped (%s); starting a replacement", pid, describe_exit(code)
            )
            self.on_replacement()
            self.start_worker(slot)
        return self.exit_code

    def should_give_up(self, slot: int, code: int, lived: float) -> bool:
        if code == STARTUP_FAILURE:
            logger.error("A worker failed to start (see above); stopping")
            return True
        self.quick_deaths[slot] = self.quick_deaths[slot] + 1 if lived < QUICK_DEATH_SECONDS else 0
        if self.quick_deaths[slot] >= MAX_QUICK_DEATHS:
            logger.error("A worker died %d times just after starting; stopping", MAX_QUICK_DEATHS)
            return True
        return False


def describe_exit(code: int) -> str:
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"
