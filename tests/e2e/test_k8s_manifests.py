"""k8s/zookeeper.yaml: what the issue asks of it, `kubernetes-validate --strict`, checkov with
every remaining finding explained, and the pod's securityContext tried on the real image.

The linters live in a virtualenv of their own (target/k8s-lint-venv, made here or by
tests/run-all.sh): checkov pins versions of packages that other tools need newer.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

import dockerzk as dz

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "k8s" / "zookeeper.yaml"


@pytest.fixture(scope="module")
def docs():
    return {(d["kind"], d["metadata"]["name"]): d
            for d in yaml.safe_load_all(MANIFEST.read_text()) if d}


@pytest.fixture(scope="module")
def statefulset(docs):
    return docs[("StatefulSet", "zk")]


def labels_match(expressions: list[dict], labels: dict[str, str]) -> bool:
    for e in expressions:
        value = labels.get(e["key"])
        if e["operator"] == "In" and value not in e["values"]:
            return False
        if e["operator"] == "NotIn" and value in e["values"]:
            return False
        if e["operator"] == "Exists" and e["key"] not in labels:
            return False
        if e["operator"] == "DoesNotExist" and e["key"] in labels:
            return False
    return True


def test_services_and_pdb(docs):
    hs = docs[("Service", "zk-hs")]["spec"]
    assert hs["clusterIP"] == "None" and hs["publishNotReadyAddresses"] is True
    assert sorted(p["port"] for p in hs["ports"]) == [2888, 3888]
    cs = docs[("Service", "zk-cs")]["spec"]
    assert [p["port"] for p in cs["ports"]] == [2181]
    pdb = docs[("PodDisruptionBudget", "zk-pdb")]
    assert pdb["apiVersion"] == "policy/v1" and pdb["spec"]["maxUnavailable"] == 1


def test_statefulset_is_the_tutorials_with_quorum_readiness(docs, statefulset):
    spec = statefulset["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    assert spec["replicas"] == 3 and spec["serviceName"] == "zk-hs"
    assert spec["podManagementPolicy"] == "Parallel"
    assert spec["updateStrategy"]["type"] == "RollingUpdate"
    # every selector names labels the pods really carry
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    for kind, name in (("Service", "zk-hs"), ("Service", "zk-cs")):
        assert docs[(kind, name)]["spec"]["selector"].items() <= labels.items()
    assert docs[("PodDisruptionBudget", "zk-pdb")]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    terms = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms and all(labels_match(t["labelSelector"]["matchExpressions"], labels) for t in terms)
    assert all(t["topologyKey"] == "kubernetes.io/hostname" for t in terms)

    (container,) = pod["containers"]
    assert container["args"] == ["sh", "-c", dz.TUTORIAL_COMMAND]
    assert container["livenessProbe"]["exec"]["command"] == ["sh", "-c", "zookeeper-ready 2181"]
    assert container["readinessProbe"]["exec"]["command"] == ["sh", "-c", "zookeeper-ready --quorum 2181"]
    assert {"requests", "limits"} <= container["resources"].keys()
    assert pod["securityContext"]["runAsUser"] == 1000 and pod["securityContext"]["fsGroup"] == 1000
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["datadir"] == "/var/lib/zookeeper"
    (claim,) = spec["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "datadir"


def test_the_strategy_choices_are_explained_in_comments():
    text = MANIFEST.read_text()
    for setting in ("podManagementPolicy: Parallel", "type: RollingUpdate"):
        before = text[: text.index(setting)].splitlines()[-6:]
        assert sum(l.strip().startswith("#") for l in before) >= 3, f"{setting} has no comment saying why"


def test_kubernetes_validate_strict(venv_bin):
    versions_dir = subprocess.run(
        [str(venv_bin / "python"), "-c",
         "import kubernetes_validate, os; print(os.path.dirname(kubernetes_validate.__file__))"],
        capture_output=True, text=True, check=True).stdout.strip()
    known = sorted((d[1:].split("-")[0] for d in os.listdir(Path(versions_dir) / "kubernetes-json-schema")
                    if d.endswith("-local-strict")), key=lambda v: tuple(int(x) for x in v.split(".")))
    assert known, "kubernetes-validate knows no Kubernetes version"
    for version in known[-3:]:  # the three newest it has schemas for
        result = subprocess.run([str(venv_bin / "kubernetes-validate"), "--strict", "-k", version,
                                 str(MANIFEST)], capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"Kubernetes {version}:\n{result.stdout}{result.stderr}"
        assert result.stdout.count("passed") == 5, result.stdout


def test_checkov_finds_nothing_unexplained(venv_bin):
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false",
               LOG_LEVEL="ERROR")
    result = subprocess.run([str(venv_bin / "checkov"), "--file", str(MANIFEST), "--framework",
                             "kubernetes", "--output", "json", "--skip-download"],
                            capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    report = json.loads(result.stdout)
    summary = report["summary"]
    failed = [f"{c['check_id']} {c['resource']}" for c in report["results"]["failed_checks"]]
    assert summary["failed"] == 0 and not failed, failed
    assert summary["passed"] >= 80
    text = MANIFEST.read_text()
    for check in report["results"]["skipped_checks"]:
        check_id = check["check_id"]
        # the skip gives a reason, and a comment in the manifest explains it
        assert len(check["check_result"].get("suppress_comment", "")) > 20, check_id
        assert re.search(rf"#.*{check_id} \(", text), f"{check_id} is skipped without a comment"


def test_the_pod_security_context_works_with_the_image(image, run_id):
    """The manifest's container securityContext (uid/gid 1000, read-only root filesystem with
    emptyDirs for conf and /tmp, no capabilities, no privilege escalation) on the real image."""
    name = f"fk-e2e-{run_id}-secctx"
    volume = f"{name}-data"
    dz.docker("volume", "create", "--label", f"{dz.LABEL}={run_id}", volume)
    try:
        dz.docker("run", "--detach", "--name", name, "--label", f"{dz.LABEL}={run_id}",
                  "--hostname", "zk-0", "--user", "1000:1000", "--read-only",
                  "--tmpfs", "/opt/zookeeper/conf:uid=1000,gid=1000",
                  "--tmpfs", "/tmp:uid=1000,gid=1000",
                  "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                  "--mount", f"type=volume,source={volume},target=/var/lib/zookeeper",
                  "--health-interval", "1s", "--health-start-period", "30s",
                  image, "sh", "-c", "start-zookeeper --servers=1")
        def healthy():
            state = json.loads(dz.docker("inspect", "--format", "{{json .State}}", name).stdout)
            assert state["Running"], dz.docker("logs", name, check=False).stderr
            return (state.get("Health") or {}).get("Status") == "healthy"
        dz.wait_for("the read-only container to be healthy", healthy, 60)
        created = dz.docker("exec", name, "zkCli.sh", "create", "/ro", "ok", check=False)
        assert created.returncode == 0, created.stdout + created.stderr
        touch = dz.docker("exec", name, "touch", "/opt/zookeeper/bin/x", check=False)
        assert touch.returncode != 0  # the root filesystem is read-only
    finally:
        dz.docker("rm", "--force", name, check=False)
        dz.docker("volume", "rm", "--force", volume, check=False)
