"""Fixtures for the container tests (see README.md beside this file).

image    the ferrokeeper image, built once per session by docker/build-offline.sh (no registry
         needed), labelled with this run's id; its size is printed in the summary
venv_bin the bin/ of a virtualenv with checkov and kubernetes-validate (target/k8s-lint-venv,
         made here or by tests/run-all.sh): checkov pins packages other tools need newer
run_id   a unique id: every container, volume, network and image a test makes carries the label
         ``fk-e2e=<run_id>``, and all of them are removed when the session ends

Without a Docker engine every test here is skipped (with the reason); with one, a failure to
build the image fails them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dockerzk as dz  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RUN_ID = os.environ.get("FK_E2E_RUN_ID") or uuid.uuid4().hex[:8]
note = dz.note  # lines for the terminal summary


@pytest.fixture(scope="session")
def run_id():
    return RUN_ID


@pytest.fixture(scope="session")
def image(run_id):
    reason = dz.docker_available()
    if reason:
        pytest.skip(f"no Docker engine: {reason}")
    given = os.environ.get("FK_E2E_IMAGE")
    if given:
        note(f"image {given} (FK_E2E_IMAGE, not built here)")
        yield given
        return
    binary = Path(os.environ.get("FK_BINARY", ROOT / "target" / "release" / "ferrokeeper"))
    tag = f"fk-e2e-{run_id}:latest"
    command = ["bash", str(ROOT / "docker" / "build-offline.sh"), "--tag", tag,
               "--label", f"{dz.LABEL}={run_id}", "--binary", str(binary)]
    if binary.exists():
        command.append("--no-cargo")  # run-all.sh built it already
    start = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        pytest.fail(f"docker/build-offline.sh failed (exit {result.returncode}):\n"
                    f"{result.stdout}\n{result.stderr}", pytrace=False)
    size = int(dz.docker("image", "inspect", "--format", "{{.Size}}", tag).stdout)
    note(f"image {tag}: {size} bytes ({size / 1e6:.1f} MB, {size / 2**20:.1f} MiB), "
         f"built offline in {time.monotonic() - start:.0f}s")
    print(f"\nimage size: {size} bytes ({size / 1e6:.1f} MB)", flush=True)
    yield tag


VENV = Path(os.environ.get("FK_K8S_LINT_VENV", ROOT / "target" / "k8s-lint-venv"))
LINTERS = ["kubernetes-validate>=1.34", "checkov>=3"]


@pytest.fixture(scope="session")
def venv_bin():
    """The linters' virtualenv, installed from PyPI when missing."""
    bin_dir = VENV / "bin"
    if not ((bin_dir / "checkov").exists() and (bin_dir / "kubernetes-validate").exists()):
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300)
        result = subprocess.run([str(bin_dir / "pip"), "install", "--quiet", *LINTERS],
                                capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            pytest.fail(f"pip install {' '.join(LINTERS)} into {VENV} failed:\n{result.stderr[-3000:]}",
                        pytrace=False)
    return bin_dir


def pytest_sessionfinish(session, exitstatus):
    if dz.docker_available() is not None:
        return
    left = dz.cleanup(RUN_ID)
    if left:
        note(f"cleanup of run {RUN_ID} left: {', '.join(left)}")
    else:
        note(f"cleanup: every container, volume, network and image of run {RUN_ID} removed")


def pytest_terminal_summary(terminalreporter):
    if dz.NOTES:
        terminalreporter.section("container tests")
        for line in dz.NOTES:
            terminalreporter.write_line(line)
