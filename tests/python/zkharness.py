"""Black-box harness helpers: start/stop a standalone ZooKeeper-compatible server.

Two kinds of server are supported:

* ``java``        Apache ZooKeeper 3.8 from Debian's ``zookeeper`` package
                  (``QuorumPeerMain`` with a generated zoo.cfg).
* ``ferrokeeper`` the Rust server, ``target/release/ferrokeeper serve <zoo.cfg>``.

Both read the same generated zoo.cfg.  Every wait is bounded by a timeout.
"""

from __future__ import annotations

import os
import shutil
import random
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Optional

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"

KINDS = ("java", "ferrokeeper")

ZKCLI = os.environ.get("FK_ZKCLI", "/usr/share/zookeeper/bin/zkCli.sh")
ZOOKEEPER_JAR = os.environ.get("FK_ZOOKEEPER_JAR", "/usr/share/java/zookeeper.jar")
# slf4j-simple makes the Java server log to stderr (captured in server.log);
# without it the Debian jar logs nothing at all (NOP binder).
SLF4J_SIMPLE_JAR = "/usr/share/java/slf4j-simple.jar"
FK_BINARY = Path(os.environ.get("FK_BINARY", str(REPO_ROOT / "target" / "release" / "ferrokeeper")))

STARTUP_TIMEOUT_S = float(os.environ.get("FK_STARTUP_TIMEOUT", "30"))
STOP_TIMEOUT_S = 10.0


def enabled_kinds() -> List[str]:
    raw = os.environ.get("FK_TEST_SERVERS", "ferrokeeper")
    kinds = [k.strip() for k in raw.split(",") if k.strip()]
    for k in kinds:
        if k not in KINDS:
            raise ValueError(f"FK_TEST_SERVERS: unknown server kind {k!r} (known: {', '.join(KINDS)})")
    if not kinds:
        raise ValueError("FK_TEST_SERVERS is empty")
    # de-duplicate, keep order
    seen: List[str] = []
    for k in kinds:
        if k not in seen:
            seen.append(k)
    return seen


def require_kind(kind: str) -> None:
    """For tests that need a specific kind: skip unless it is enabled in FK_TEST_SERVERS,
    fail if it is enabled but cannot run (e.g. the ferrokeeper binary is missing)."""
    import pytest

    kinds = enabled_kinds()
    if kind not in kinds:
        pytest.skip(f"{kind} not enabled in FK_TEST_SERVERS={','.join(kinds)}")
    reason = kind_unavailable_reason(kind)
    if reason is not None:
        pytest.fail(f"{kind} is enabled in FK_TEST_SERVERS but unavailable: {reason}")


def java_available() -> Optional[str]:
    """None if the Java server can be started, else the reason why not."""
    if shutil.which("java") is None:
        return "no `java` on PATH"
    if not Path(ZOOKEEPER_JAR).exists():
        return f"{ZOOKEEPER_JAR} missing (apt-get install zookeeper)"
    return None


def ferrokeeper_available() -> Optional[str]:
    if not FK_BINARY.exists():
        return f"{FK_BINARY} missing (cargo build --release)"
    if not os.access(FK_BINARY, os.X_OK):
        return f"{FK_BINARY} is not executable"
    return None


def kind_unavailable_reason(kind: str) -> Optional[str]:
    return java_available() if kind == "java" else ferrokeeper_available()


_handed_out_ports: set = set()


def free_port() -> int:
    """A port that is free now, taken below the kernel's ephemeral range (32768-60999 on Linux):
    a port the kernel hands out may be grabbed as the source port of some outgoing connection
    (the ensemble's own) before the server binds it."""
    for _ in range(1000):
        port = random.randint(10000, 32000)
        if port in _handed_out_ports:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
        _handed_out_ports.add(port)
        return port
    raise RuntimeError("no free port below the ephemeral range")


def four_letter(port: int, word: str, timeout: float = 10.0, host: str = HOST,
                payload: bytes = b"") -> str:
    """Send a four-letter word and read the whole (unframed) answer until the server closes."""
    assert len(word) == 4, word
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(word.encode("ascii") + payload)
        chunks = []
        deadline = time.monotonic() + timeout
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"4lw {word}: server did not close within {timeout}s")
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks).decode("utf-8", errors="replace")


class ServerHandle:
    """A running standalone server of one kind."""

    def __init__(self, kind: str, workdir: Path, port: Optional[int] = None,
                 extra_cfg: Optional[Dict[str, str]] = None, tick_time: int = 2000):
        self.kind = kind
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.workdir / "data"
        self.data_dir.mkdir(exist_ok=True)
        self._auto_port = port is None
        self.port = port if port is not None else free_port()
        self.host = HOST
        self.hosts = f"{HOST}:{self.port}"
        self.cfg_path = self.workdir / "zoo.cfg"
        self.log_path = self.workdir / "server.log"
        self.cfg: Dict[str, str] = {
            "tickTime": str(tick_time),
            "initLimit": "10",
            "syncLimit": "5",
            "dataDir": str(self.data_dir),
            "clientPort": str(self.port),
            "clientPortAddress": HOST,
            "4lw.commands.whitelist": "*",
            "admin.enableServer": "false",
            "extendedTypesEnabled": "true",
        }
        if extra_cfg:
            for k, v in extra_cfg.items():
                if v is None:
                    self.cfg.pop(k, None)
                else:
                    self.cfg[k] = str(v)
        self.proc: Optional[subprocess.Popen] = None
        self._log_file = None
        self.starts = 0

    # ------------------------------------------------------------------ config
    def write_cfg(self) -> None:
        lines = [f"{k}={v}" for k, v in self.cfg.items()]
        self.cfg_path.write_text("\n".join(lines) + "\n")

    def command(self) -> List[str]:
        if self.kind == "java":
            cp = [ZOOKEEPER_JAR]
            if Path(SLF4J_SIMPLE_JAR).exists():
                cp.append(SLF4J_SIMPLE_JAR)
            return [
                "java",
                "-Xmx256m",
                "-XX:+UseSerialGC",
                "-Dzookeeper.admin.enableServer=false",
                "-Dzookeeper.extendedTypesEnabled=true",
                "-Dorg.slf4j.simpleLogger.showDateTime=true",
                "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
                "-cp", ":".join(cp),
                "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                str(self.cfg_path),
            ]
        if self.kind == "ferrokeeper":
            return [str(FK_BINARY), "serve", str(self.cfg_path)]
        raise ValueError(self.kind)

    # --------------------------------------------------------------- lifecycle
    def start(self, timeout: float = STARTUP_TIMEOUT_S) -> "ServerHandle":
        """Start and wait until it serves.  If the port chosen by free_port() was taken in
        the meantime by someone else, retry on another free port (at most 3 times)."""
        for attempt in range(3):
            log_size = self.log_path.stat().st_size if self.log_path.exists() else 0
            try:
                return self._start_once(timeout)
            except (RuntimeError, TimeoutError):
                fresh_log = self.log_path.read_bytes()[log_size:] if self.log_path.exists() else b""
                if (self._auto_port and attempt < 2 and self.starts == 1
                        and b"Address already in use" in fresh_log):
                    self.starts = 0
                    self.port = free_port()
                    self.hosts = f"{HOST}:{self.port}"
                    self.cfg["clientPort"] = str(self.port)
                    continue
                raise
        raise AssertionError("unreachable")

    def _start_once(self, timeout: float) -> "ServerHandle":
        assert self.proc is None, "already running"
        if self.kind == "java":
            # Java 3.8 cannot restart on a txn log it created but never wrote a header to
            # (killed in between): it dies with EOFException. Not what these tests examine.
            for log in (self.data_dir / "version-2").glob("log.*"):
                if log.stat().st_size < 16:
                    log.unlink()
        reason = kind_unavailable_reason(self.kind)
        if reason:
            raise RuntimeError(f"cannot start {self.kind} server: {reason}")
        self.write_cfg()
        self._log_file = open(self.log_path, "ab")
        self._log_file.write(f"==== start #{self.starts + 1}: {' '.join(self.command())}\n".encode())
        self._log_file.flush()
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "info")
        env.setdefault("RUST_BACKTRACE", "1")
        self.proc = subprocess.Popen(
            self.command(),
            cwd=str(self.workdir),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: we kill the whole group at teardown
            env=env,
        )
        self.starts += 1
        try:
            self.wait_ready(timeout)
        except Exception:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_err: Optional[BaseException] = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.kind} server exited with code {self.proc.returncode} during startup\n"
                    f"---- log tail ----\n{self.log_tail()}")
            try:
                # srvr is always whitelisted.  (Java answers ruok with imok as soon as the
                # port is open, before it serves; srvr says "This ZooKeeper instance is not
                # currently serving requests" until it does.)
                srvr = four_letter(self.port, "srvr", timeout=2.0)
                if "Mode:" in srvr:
                    return
                last_err = RuntimeError(f"srvr: {srvr!r}")
            except OSError as e:  # refused / reset / timeout
                last_err = e
            time.sleep(0.05)
        raise TimeoutError(
            f"{self.kind} server on port {self.port} not ready after {timeout}s "
            f"(last error: {last_err!r})\n---- log tail ----\n{self.log_tail()}")

    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server and everything in its process group (bounded wait, then SIGKILL)."""
        proc = self.proc
        if proc is None:
            return
        try:
            pgid = os.getpgid(proc.pid)
        except ProcessLookupError:
            pgid = None
        if proc.poll() is None:
            try:
                if pgid is not None:
                    os.killpg(pgid, sig)
                else:
                    proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pass
        # make sure nothing of the group survives
        if pgid is not None:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
        self.proc = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def restart(self, timeout: float = STARTUP_TIMEOUT_S) -> "ServerHandle":
        self.stop()
        return self.start(timeout)

    # ------------------------------------------------------------- utilities
    def four_letter(self, word: str, timeout: float = 10.0) -> str:
        return four_letter(self.port, word, timeout=timeout)

    def log_tail(self, lines: int = 60) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return "(no log)"
        text = data.decode("utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def __repr__(self) -> str:
        return f"<{self.kind} server {self.hosts} dir={self.workdir}>"
