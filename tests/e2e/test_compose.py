"""docker/compose.yaml: one command brings up three members zk-0..zk-2 (zk-N.zk-hs), each with
its own named volume, restart always; the image is the offline-built one (FERROKEEPER_IMAGE)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import dockerzk as dz
from dockerzk import note

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker" / "compose.yaml"


def compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return None


@pytest.fixture(scope="module")
def compose(image, run_id):
    base = compose_command()
    if base is None:
        pytest.skip("neither docker-compose nor `docker compose` is installed")
    project = f"fk-e2e-{run_id}-compose"
    env = dict(os.environ, FERROKEEPER_IMAGE=image)
    for i in range(3):
        env[f"ZK_{i}_PORT"] = str(dz.free_loopback_port())

    def run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        return subprocess.run([*base, "--project-name", project, "--file", str(COMPOSE_FILE), *args],
                              capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)

    run.project = project
    try:
        yield run
    finally:
        down = run("down", "--volumes", "--remove-orphans", "--timeout", "2")
        if down.returncode != 0:
            note(f"compose down failed: {down.stderr[-500:]}")
        # anything compose left behind (a failed `up` half way) goes by its project label
        selector = f"label=com.docker.compose.project={project}"
        containers = dz.docker("ps", "--all", "--quiet", "--filter", selector, check=False).stdout.split()
        if containers:
            dz.docker("rm", "--force", "--volumes", *containers, check=False)
        for kind in ("network", "volume"):
            left = dz.docker(kind, "ls", "--quiet", "--filter", selector, check=False).stdout.split()
            if left:
                dz.docker(kind, "rm", *left, check=False)


def container_of(project: str, service: str) -> str:
    ids = dz.docker("ps", "--quiet", "--filter", f"label=com.docker.compose.project={project}",
                    "--filter", f"label=com.docker.compose.service={service}").stdout.split()
    assert len(ids) == 1, f"{service}: {ids}"
    return ids[0]


def test_one_command_brings_up_three_members_with_their_own_volumes(compose):
    start = time.monotonic()
    up = compose("up", "--detach", "--no-build")
    assert up.returncode == 0, up.stdout + up.stderr
    members = {f"zk-{i}": container_of(compose.project, f"zk-{i}") for i in range(3)}

    def health(container: str) -> str | None:
        state = json.loads(dz.docker("inspect", "--format", "{{json .State}}", container).stdout)
        return (state.get("Health") or {}).get("Status")

    def all_healthy():
        return all(health(c) == "healthy" for c in members.values())
    dz.wait_for("the compose members to be healthy (image HEALTHCHECK)", all_healthy, 90, interval=1)
    # ready = serving (leader/follower, or standalone): what k8s/zookeeper.yaml's readiness probe runs
    for name, container in members.items():
        dz.wait_for(f"{name} to serve", lambda: dz.docker(
            "exec", container, "zookeeper-ready", "--quorum", "2181", check=False).returncode == 0, 90, 1)
    modes = {name: next((l[6:] for l in dz.docker("exec", c, "sh", "-c", "printf srvr | nc 127.0.0.1 2181")
                         .stdout.splitlines() if l.startswith("Mode: ")), None)
             for name, c in members.items()}
    note(f"compose: 3 members healthy and serving {time.monotonic() - start:.0f}s after `up`: {modes}")

    volumes = set()
    for i, (name, container) in enumerate(members.items()):
        inspect = json.loads(dz.docker("inspect", container).stdout)[0]
        assert inspect["HostConfig"]["RestartPolicy"]["Name"] == "always"
        (mount,) = [m for m in inspect["Mounts"] if m["Destination"] == "/var/lib/zookeeper"]
        assert mount["Type"] == "volume"
        volumes.add(mount["Name"])
        def sh(command: str) -> str:
            return dz.docker("exec", container, "sh", "-c", command).stdout.strip()
        assert sh("hostname") == name
        assert sh("hostname -f") == f"{name}.zk-hs"
        assert sh("cat /var/lib/zookeeper/data/myid") == str(i + 1)
        servers = [l for l in sh("cat /opt/zookeeper/conf/zoo.cfg").splitlines() if l.startswith("server.")]
        assert servers == [f"server.{j + 1}=zk-{j}.zk-hs:2888:3888" for j in range(3)]
        assert sh("id -u") == "1000"
        # the other members' names resolve on the compose network
        for other in range(3):
            assert dz.docker("exec", container, "nslookup", f"zk-{other}.zk-hs", check=False).returncode == 0
    assert len(volumes) == 3, volumes

    created = dz.docker("exec", members["zk-0"], "zkCli.sh", "create", "/compose", "up", check=False)
    assert created.returncode == 0, created.stdout + created.stderr
    reader = members["zk-2"] if "leader" in modes.values() else members["zk-0"]
    got = dz.docker("exec", reader, "zkCli.sh", "get", "/compose", check=False)
    assert got.stdout.strip().splitlines()[-1] == "up"
