"""docker/Dockerfile and docker/build-offline.sh make the same image: one root filesystem script,
one runtime stage. The registry build itself cannot run here (no registry), so what is checked
is that the offline image carries exactly what the Dockerfile's runtime stage declares, and that
checkov finds nothing in the Dockerfile."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import dockerzk as dz

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
OFFLINE = ROOT / "docker" / "build-offline.sh"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    result, pending = [], ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        keyword, _, rest = whole.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def stages(text: str) -> dict[str, list[tuple[str, str]]]:
    found, current = {}, None
    for keyword, rest in instructions(text):
        if keyword == "FROM":
            current = rest.split()[-1]
            found[current] = [(keyword, rest)]
        elif current:
            found[current].append((keyword, rest))
    return found


def test_the_two_builds_share_the_rootfs_script_and_the_runtime_stage():
    text = DOCKERFILE.read_text()
    by_name = stages(text)
    assert list(by_name) == ["build", "rootfs", "runtime"]
    build_runs = " ".join(rest for keyword, rest in by_name["build"] if keyword == "RUN")
    assert "sh docker/assemble-rootfs.sh target/release/ferrokeeper /rootfs" in build_runs
    assert by_name["rootfs"] == [("FROM", "scratch AS rootfs"), ("COPY", "--from=build /rootfs/ /")]
    runtime = by_name["runtime"]
    assert runtime[0] == ("FROM", "rootfs AS runtime")
    # nothing from a build context: the offline build gives the stage an empty one
    assert not [i for i in runtime if i[0] in ("COPY", "ADD")]
    offline = OFFLINE.read_text()
    assert "awk '/^FROM rootfs AS runtime/ { on = 1 } on' \"$here/Dockerfile\"" in offline
    assert 'sh "$here/assemble-rootfs.sh" "$binary" "$work/rootfs"' in offline


def test_the_offline_image_carries_what_the_runtime_stage_declares(image):
    runtime = stages(DOCKERFILE.read_text())["runtime"]
    config = json.loads(dz.docker("image", "inspect", "--format", "{{json .Config}}", image).stdout)
    declared_env, declared_labels = {}, {}
    for keyword, rest in runtime:
        if keyword == "ENV":
            declared_env.update(item.split("=", 1) for item in shlex.split(rest))
        elif keyword == "LABEL":
            declared_labels.update(item.split("=", 1) for item in shlex.split(rest))
        elif keyword == "USER":
            assert config["User"] == rest
        elif keyword == "WORKDIR":
            assert config["WorkingDir"] == rest
        elif keyword == "ENTRYPOINT":
            assert config["Entrypoint"] == json.loads(rest)
        elif keyword == "CMD":
            assert config["Cmd"] == json.loads(rest)
        elif keyword == "VOLUME":
            assert set(config["Volumes"]) == set(json.loads(rest))
        elif keyword == "EXPOSE":
            assert set(config["ExposedPorts"]) == {f"{p}/tcp" for p in rest.split()}
        elif keyword == "HEALTHCHECK":
            command = json.loads(rest[rest.index("CMD ") + 4:])
            assert config["Healthcheck"]["Test"] == ["CMD", *command]
            for option, key in (("--interval=", "Interval"), ("--timeout=", "Timeout"),
                                ("--start-period=", "StartPeriod")):
                seconds = int(rest.split(option)[1].split("s")[0])
                assert config["Healthcheck"][key] == seconds * 10**9
    env = dict(item.split("=", 1) for item in config["Env"])
    assert declared_env and declared_env.items() <= env.items()
    assert declared_labels and declared_labels.items() <= config["Labels"].items()


def test_checkov_finds_nothing_in_the_dockerfile(venv_bin):
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", LOG_LEVEL="ERROR")
    result = subprocess.run([str(venv_bin / "checkov"), "--file", str(DOCKERFILE), "--framework",
                             "dockerfile", "--output", "json", "--skip-download"],
                            capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    report = json.loads(result.stdout)
    failed = [c["check_id"] for c in report["results"]["failed_checks"]]
    assert report["summary"]["failed"] == 0 and not failed, failed
    assert report["summary"]["passed"] >= 30
