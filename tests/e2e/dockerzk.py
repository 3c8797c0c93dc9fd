"""Docker harness that emulates the Kubernetes tutorial's StatefulSet ``zk`` with containers.

What Kubernetes gives a StatefulSet pod, and how it is emulated here:

| Kubernetes                               | here                                                        |
|------------------------------------------|-------------------------------------------------------------|
| pod ``zk-N``, hostname ``zk-N``          | container ``<prefix>-zk-N`` with ``--hostname zk-N``         |
| headless service domain (``zk-hs...``)   | ``--domainname`` + network alias ``zk-N.<domain>`` on a      |
|                                          | network this harness creates (Docker's DNS answers it)       |
| volumeClaimTemplates ``datadir``         | one named volume per member at ``/var/lib/zookeeper``        |
| restartPolicy Always                     | ``--restart always``                                         |
| kubelet restarts a container whose       | ``Ensemble.kubelet_restart``: remove the container and run a |
| liveness probe fails (new container from | new one from the image with the same volume and name         |
| the image, same volumes)                 | (``docker restart`` would keep the container's filesystem)   |
| the tutorial's client from outside       | ``docker exec <member> zkCli.sh ...``; kazoo through ports   |
|                                          | published on 127.0.0.1 only                                  |

Everything created carries the label ``fk-e2e=<run id>`` and names start with the run's prefix,
so ``cleanup`` removes exactly what this run made.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from dataclasses import dataclass, field

# The tutorial's start-zookeeper command line (kubernetes-zookeeper-tutorial, "Ensuring
# consistent configuration"), verbatim.
TUTORIAL_COMMAND = (
    "start-zookeeper "
    "--servers=3 "
    "--data_dir=/var/lib/zookeeper/data "
    "--data_log_dir=/var/lib/zookeeper/data/log "
    "--conf_dir=/opt/zookeeper/conf "
    "--client_port=2181 "
    "--election_port=3888 "
    "--server_port=2888 "
    "--tick_time=2000 "
    "--init_limit=10 "
    "--sync_limit=5 "
    "--heap=512M "
    "--max_client_cnxns=60 "
    "--snap_retain_count=3 "
    "--purge_interval=12 "
    "--max_session_timeout=40000 "
    "--min_session_timeout=4000 "
    "--log_level=INFO"
)

LABEL = "fk-e2e"
NOTES: list[str] = []  # printed in the terminal summary (conftest.py)


def note(line: str) -> None:
    NOTES.append(line)


class DockerError(RuntimeError):
    pass


def docker(*args: str, check: bool = True, timeout: float = 120, input: str | None = None
           ) -> subprocess.CompletedProcess:
    """Runs ``docker ARGS``; raises DockerError with its output when ``check`` and it fails."""
    try:
        result = subprocess.run(["docker", *args], capture_output=True, text=True,
                                timeout=timeout, input=input)
    except subprocess.TimeoutExpired as error:
        raise DockerError(f"docker {' '.join(args)}: timed out after {timeout}s") from error
    if check and result.returncode != 0:
        raise DockerError(f"docker {' '.join(args)}: exit {result.returncode}\n"
                          f"stdout: {result.stdout}\nstderr: {result.stderr}")
    return result


def docker_available() -> str | None:
    """None when a Docker engine answers, else why not."""
    try:
        result = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"],
                                capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        return "no docker client on PATH"
    except subprocess.TimeoutExpired:
        return "docker info timed out"
    if result.returncode != 0:
        return f"docker engine not reachable: {result.stderr.strip()[:200]}"
    return None


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, predicate, timeout: float, interval: float = 0.5):
    """Polls ``predicate`` until it returns a truthy value; raises TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = predicate()
        except DockerError as error:
            last = None
            detail = str(error)
        else:
            detail = ""
        if last:
            return last
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what} {detail}".strip())
        time.sleep(interval)


@dataclass
class Member:
    ordinal: int
    ensemble: "Ensemble"
    host_port: int = field(default_factory=free_loopback_port)
    generation: int = 0  # how many containers this member has had (a rolling update adds one)

    @property
    def hostname(self) -> str:
        return f"zk-{self.ordinal}"

    @property
    def fqdn(self) -> str:
        return f"{self.hostname}.{self.ensemble.domain}"

    @property
    def container(self) -> str:
        return f"{self.ensemble.prefix}-zk-{self.ordinal}"

    @property
    def volume(self) -> str:
        return f"{self.ensemble.prefix}-datadir-zk-{self.ordinal}"

    def run(self, extra_env: dict[str, str] | None = None) -> None:
        """Creates and starts this member's container (the volume is created on first use)."""
        e = self.ensemble
        self.generation += 1
        args = [
            "run", "--detach",
            "--name", self.container,
            "--label", f"{LABEL}={e.run_id}",
            "--label", f"fk-e2e-generation={self.generation}",
            "--hostname", self.hostname,
            "--domainname", e.domain,
            "--network", e.network,
            "--network-alias", self.fqdn,
            "--network-alias", self.hostname,
            "--mount", f"type=volume,source={self.volume},target=/var/lib/zookeeper",
            "--restart", "always",
            "--publish", f"127.0.0.1:{self.host_port}:2181",
            # The image's HEALTHCHECK command (ruok), probed often so the test is quick.
            "--health-interval", "2s", "--health-timeout", "3s",
            "--health-retries", "3", "--health-start-period", "30s",
        ]
        for key, value in (extra_env or {}).items():
            args += ["--env", f"{key}={value}"]
        args += [e.image, "sh", "-c", e.command]
        docker(*args)

    def remove(self, stop_timeout: int = 10) -> None:
        """Stops (SIGTERM, then SIGKILL after ``stop_timeout``) and removes the container; the
        volume stays."""
        docker("stop", "--time", str(stop_timeout), self.container, check=False, timeout=60)
        docker("rm", "--force", self.container, check=False, timeout=60)

    def exec(self, *command: str, user: str | None = None, timeout: float = 90,
             check: bool = False) -> subprocess.CompletedProcess:
        args = ["exec"]
        if user is not None:
            args += ["--user", user]
        return docker(*args, self.container, *command, timeout=timeout, check=check)

    def four_letter(self, word: str) -> str:
        """The answer to a four-letter word, asked from inside the container."""
        result = self.exec("sh", "-c", f"printf {word} | nc 127.0.0.1 2181", timeout=20)
        return result.stdout if result.returncode == 0 else ""

    def mode(self) -> str | None:
        for line in self.four_letter("srvr").splitlines():
            if line.startswith("Mode: "):
                return line[len("Mode: "):].strip()
        return None

    def state(self) -> dict:
        return json.loads(docker("inspect", "--format", "{{json .State}}", self.container).stdout)

    def health(self) -> str | None:
        health = self.state().get("Health") or {}
        return health.get("Status")

    def restart_count(self) -> int:
        return int(docker("inspect", "--format", "{{.RestartCount}}", self.container).stdout)

    def ready(self, quorum: bool) -> bool:
        """The readiness probe of k8s/zookeeper.yaml (``zookeeper-ready --quorum 2181``) or the
        liveness probe (``zookeeper-ready 2181``), run in the container."""
        command = ["zookeeper-ready", "--quorum", "2181"] if quorum else ["zookeeper-ready", "2181"]
        try:
            return self.exec(*command, timeout=20).returncode == 0
        except DockerError:
            return False

    def wait_healthy(self, timeout: float = 90) -> None:
        wait_for(f"{self.container} to be healthy", lambda: self.health() == "healthy", timeout)

    def zkcli(self, *command: str, server: str | None = None, timeout: float = 90
              ) -> subprocess.CompletedProcess:
        args = ["zkCli.sh"]
        if server:
            args += ["-server", server]
        return self.exec(*args, *command, timeout=timeout)

    def logs(self, tail: int | None = None) -> str:
        args = ["logs"]
        if tail is not None:
            args += ["--tail", str(tail)]
        result = docker(*args, self.container, check=False)
        return result.stdout + result.stderr


class Ensemble:
    """Three members on a network of their own, started with the tutorial's command line."""

    def __init__(self, image: str, run_id: str, size: int = 3,
                 namespace: str = "default", command: str = TUTORIAL_COMMAND):
        self.image = image
        self.run_id = run_id
        self.prefix = f"fk-e2e-{run_id}"
        self.network = f"{self.prefix}-net"
        # The tutorial's FQDNs: zk-N.zk-hs.default.svc.cluster.local
        self.domain = f"zk-hs.{namespace}.svc.cluster.local"
        self.command = command
        self.members = [Member(i, self) for i in range(size)]

    def __getitem__(self, ordinal: int) -> Member:
        return self.members[ordinal]

    def create(self) -> None:
        docker("network", "create", "--label", f"{LABEL}={self.run_id}", self.network)
        for member in self.members:
            docker("volume", "create", "--label", f"{LABEL}={self.run_id}", member.volume)
        # podManagementPolicy Parallel: all members start at once (see k8s/zookeeper.yaml).
        for member in self.members:
            member.run()

    def wait_healthy(self, timeout: float = 90) -> None:
        for member in self.members:
            member.wait_healthy(timeout)

    def kubelet_restart(self, member: Member, extra_env: dict[str, str] | None = None) -> None:
        """What the kubelet does when a liveness probe fails or a pod is replaced: a new
        container from the image, same hostname and volume."""
        member.remove()
        member.run(extra_env)

    def modes(self) -> dict[str, str | None]:
        return {m.hostname: m.mode() for m in self.members}

    def quorum_hosts(self) -> str:
        """The connect string for clients outside the network (through 127.0.0.1)."""
        return ",".join(f"127.0.0.1:{m.host_port}" for m in self.members)

    def diagnostics(self, tail: int = 30) -> str:
        parts = []
        for member in self.members:
            try:
                state = member.state()
                status = f"{state.get('Status')} health={(state.get('Health') or {}).get('Status')}"
            except DockerError:
                status = "no container"
            parts.append(f"--- {member.container} ({status}) mode={member.mode() if status != 'no container' else None}\n"
                         f"{member.logs(tail) if status != 'no container' else ''}")
        return "\n".join(parts)


def cleanup(run_id: str) -> list[str]:
    """Removes every container, volume, network and image labelled ``fk-e2e=<run_id>``;
    returns what could not be removed."""
    left = []
    selector = f"label={LABEL}={run_id}"
    containers = docker("ps", "--all", "--quiet", "--filter", selector, check=False).stdout.split()
    if containers:
        docker("rm", "--force", "--volumes", *containers, check=False, timeout=120)
    networks = docker("network", "ls", "--quiet", "--filter", selector, check=False).stdout.split()
    for network in networks:
        docker("network", "rm", network, check=False)
    volumes = docker("volume", "ls", "--quiet", "--filter", selector, check=False).stdout.split()
    if volumes:
        docker("volume", "rm", "--force", *volumes, check=False)
    images = docker("image", "ls", "--quiet", "--filter", selector, check=False).stdout.split()
    if images:
        docker("image", "rm", "--force", *sorted(set(images)), check=False, timeout=120)
    for kind, command in (("container", ["ps", "--all"]), ("network", ["network", "ls"]),
                          ("volume", ["volume", "ls"]), ("image", ["image", "ls"])):
        remaining = docker(*command, "--quiet", "--filter", selector, check=False).stdout.split()
        left += [f"{kind} {name}" for name in remaining]
    return left
