"""A real two-node Ray cluster on this machine for the tests: `ray start --head` and `ray start --address` as
separate process trees, each on its own free ports and temporary folder, stopped by process id (never by name:
`ray stop` would also stop other people's Ray processes on a shared machine)."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]
RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _free_range(width: int = 40) -> tuple[int, int]:
    """A window of ports that are free now (for the node's worker processes)."""
    for _ in range(200):
        start = free_port()
        if start + width >= 65000:
            continue
        ok = True
        for port in range(start, start + width):
            with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return start, start + width - 1
    raise RuntimeError("no free port range")


def _node_ports() -> list[str]:
    low, high = _free_range()
    return ["--node-manager-port", str(free_port()), "--object-manager-port", str(free_port()),
            "--dashboard-agent-listen-port", str(free_port()), "--dashboard-agent-grpc-port", str(free_port()),
            "--metrics-export-port", str(free_port()), "--runtime-env-agent-port", str(free_port()),
            "--min-worker-port", str(low), "--max-worker-port", str(high)]


_TOKEN = secrets.token_hex(32)


def child_env() -> dict[str, str]:
    """The environment of every Ray process and of `hamacho score`: this worktree's code, quiet Ray, and the
    cluster's own token (Ray's token authentication, without touching ~/.ray)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_USAGE_STATS_ENABLED": "0", "OMP_NUM_THREADS": "1",
           "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": _TOKEN}
    env.pop("RAY_ADDRESS", None)
    return env


@dataclass
class LocalCluster:
    """Head + one worker node, 1 CPU each."""

    port: int = 0
    processes: list[subprocess.Popen] = field(default_factory=list)
    temp_dirs: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _start(self, arguments: list[str], log_name: str) -> subprocess.Popen:
        temp_dir = tempfile.mkdtemp(prefix="hray")  # short: Ray's socket paths must stay under 107 characters
        self.temp_dirs.append(temp_dir)
        log = open(Path(temp_dir) / log_name, "wb")  # noqa: SIM115 - kept open for the process's life
        process = subprocess.Popen([RAY, "start", "--block", "--num-cpus", "1", "--disable-usage-stats",
                                    "--node-ip-address", "127.0.0.1", "--temp-dir", temp_dir,
                                    "--object-store-memory", str(100 * 1024**2), *_node_ports(), *arguments],
                                   stdout=log, stderr=subprocess.STDOUT, env=child_env(), start_new_session=True)
        self.processes.append(process)
        return process

    def start(self, timeout: float = 120, attempts: int = 3) -> LocalCluster:
        """Start the head, then the worker; a node whose raylet misses Ray's fixed 30 s registration window
        (a loaded machine) is started again, up to ``attempts`` times."""
        self.port = free_port()
        self._start_node(["--head", "--port", str(self.port), "--include-dashboard", "false"], "head.log", 1,
                         timeout, attempts)
        self._start_node(["--address", self.address], "worker.log", 2, timeout, attempts)
        return self

    def _start_node(self, arguments: list[str], log_name: str, count: int, timeout: float, attempts: int) -> None:
        for attempt in range(attempts):
            process = self._start(arguments, log_name)
            try:
                self._wait_nodes(count, timeout)
                return
            except RuntimeError:
                if attempt == attempts - 1 or process.poll() is None:
                    raise
                self.processes.remove(process)
                _kill_tree(process)

    def _wait_nodes(self, count: int, timeout: float) -> None:
        script = ("import ray, time, sys\n"
                  f"ray.init(address='{self.address}', log_to_driver=False, logging_level='ERROR')\n"
                  f"deadline = time.time() + {min(60.0, timeout)}\n"
                  f"while len([n for n in ray.nodes() if n['Alive']]) < {count}:\n"
                  "    time.sleep(0.5)\n"
                  "    if time.time() > deadline: sys.exit(1)\n")
        deadline = time.time() + timeout
        while time.time() < deadline:
            if any(p.poll() is not None for p in self.processes):  # a `ray start` gave up
                raise RuntimeError(f"a ray start process exited: {self.logs()}")
            try:
                done = subprocess.run([sys.executable, "-c", script], env=child_env(), capture_output=True,
                                      timeout=min(60.0, timeout))
            except subprocess.TimeoutExpired:
                continue
            if done.returncode == 0:
                return
            time.sleep(1)
        raise RuntimeError(f"cluster did not reach {count} node(s): {self.logs()}")

    def logs(self) -> str:
        texts = []
        for temp_dir in self.temp_dirs:
            for log in Path(temp_dir).glob("*.log"):
                texts.append(log.read_text(errors="replace")[-2000:])
        return "\n".join(texts)

    def worker_tree(self) -> list[psutil.Process]:
        """The worker node's processes (its `ray start --block`, raylet, workers...)."""
        return _tree(self.processes[1].pid) if len(self.processes) > 1 else []

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM each `ray start --block` (it shuts its node down), give them ``grace`` seconds together, then
        SIGKILL whatever of their trees and sessions is left (a node's graceful shutdown can take 20 s and more)."""
        trees = [_tree(p.pid) for p in self.processes]
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in reversed(self.processes):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for tree in trees:
            for proc in tree:
                try:
                    proc.kill()
                except psutil.Error:
                    pass
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGKILL)  # the session each `ray start` was given
            except ProcessLookupError:
                pass
        psutil.wait_procs([p for tree in trees for p in tree], timeout=10)
        for temp_dir in self.temp_dirs:
            shutil.rmtree(temp_dir, ignore_errors=True)

    def leftovers(self) -> list[psutil.Process]:
        """Processes still running from this cluster (should be none after stop)."""
        alive = []
        for proc in psutil.process_iter(["cmdline"]):
            try:
                cmdline = " ".join(proc.info["cmdline"] or [])
            except psutil.Error:
                continue
            if any(d in cmdline for d in self.temp_dirs) or f"127.0.0.1:{self.port}" in cmdline:
                alive.append(proc)
        return alive


def _kill_tree(process: subprocess.Popen) -> None:
    for proc in _tree(process.pid):
        try:
            proc.kill()
        except psutil.Error:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []
