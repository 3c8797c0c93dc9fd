#!/usr/bin/env bash
# The ONE command that runs every ferrokeeper test on a fresh machine:
#
#     bash tests/run-all.sh
#
# 1. installs what is missing: Debian's `zookeeper` package (the Java reference server and
#    zkCli.sh) and the Python packages kazoo + pytest + prometheus_client (its text parser reads
#    /metrics);
# 2. cargo build --release  (target/release/ferrokeeper)
# 3. cargo test --workspace --profile ci (release optimisation without LTO; --no-fail-fast: every
#    test binary runs)
# 4. the black-box suite tests/python against ferrokeeper AND the Java server
#    (FK_TEST_SERVERS=ferrokeeper,java: differential; override FK_TEST_SERVERS to narrow it).
# 5. the container suite tests/e2e (the image built offline, the Kubernetes tutorial replayed
#    on containers, docker/compose.yaml, k8s/zookeeper.yaml through kubernetes-validate and
#    checkov); it needs a Docker engine, installs Debian's busybox-static and tini and a
#    virtualenv target/k8s-lint-venv for the linters; FK_E2E=0 leaves it out.
#
# Every stage runs even if an earlier one failed; a summary is printed at the end and the
# exit status is non-zero if anything failed.  Extra arguments are passed to pytest.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
PYTHON="${PYTHON:-python3}"
export FK_TEST_SERVERS="${FK_TEST_SERVERS:-ferrokeeper,java}"
REPORT_DIR="$ROOT/target/test-reports"

declare -a STAGES=()
declare -a RESULTS=()
FAILED=0

banner() { printf '\n======== %s ========\n' "$*"; }

record() {  # record <stage name> <exit status>
    STAGES+=("$1")
    if [ "$2" -eq 0 ]; then
        RESULTS+=("ok")
    else
        RESULTS+=("FAILED (exit $2)")
        FAILED=1
    fi
}

run_stage() {  # run_stage <name> <command...>
    local name="$1"; shift
    banner "$name"
    local start=$SECONDS status=0
    "$@" || status=$?
    echo "---- $name: exit $status after $((SECONDS - start))s"
    record "$name" "$status"
    return 0
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else echo "need root for: $*" >&2; return 1
    fi
}

install_prerequisites() {
    local status=0
    if [ ! -x /usr/share/zookeeper/bin/zkCli.sh ] || [ ! -f /usr/share/java/zookeeper.jar ]; then
        echo "installing Debian package zookeeper (Java reference server + zkCli.sh)"
        as_root apt-get update || status=$?
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y zookeeper || status=$?
    else
        echo "zookeeper: present"
    fi
    if ! command -v java >/dev/null 2>&1; then
        echo "java missing (the zookeeper package should have pulled it in)" >&2
        status=1
    fi
    if ! "$PYTHON" -c 'import kazoo, pytest, prometheus_client' >/dev/null 2>&1; then
        echo "installing kazoo + pytest + prometheus_client"
        "$PYTHON" -m pip install --quiet kazoo pytest prometheus_client \
            || "$PYTHON" -m pip install --quiet --break-system-packages kazoo pytest prometheus_client \
            || { as_root apt-get update && as_root env DEBIAN_FRONTEND=noninteractive \
                 apt-get install -y python3-kazoo python3-pytest python3-prometheus-client; } \
            || status=$?
        "$PYTHON" -c 'import kazoo, pytest, prometheus_client' || status=1
    else
        echo "kazoo + pytest + prometheus_client: present"
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        echo "cargo missing: install a Rust toolchain (https://rustup.rs)" >&2
        status=1
    fi
    if [ "${FK_E2E:-1}" != 0 ]; then
        install_container_test_tools || status=$?
    fi
    return "$status"
}

# tests/e2e: the image's root filesystem takes busybox and tini from Debian; the manifest
# linters go into a virtualenv of their own (checkov pins packages other tools need newer).
install_container_test_tools() {
    local status=0
    if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1 || [ ! -x /usr/bin/tini-static ]; then
        echo "installing Debian's busybox-static and tini (the image's shell and PID 1)"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y busybox-static tini \
            || { as_root apt-get update && as_root env DEBIAN_FRONTEND=noninteractive \
                 apt-get install -y busybox-static tini; } || status=$?
    else
        echo "busybox-static + tini: present"
    fi
    if ! "$PYTHON" -c 'import yaml' >/dev/null 2>&1; then
        "$PYTHON" -m pip install --quiet pyyaml \
            || "$PYTHON" -m pip install --quiet --break-system-packages pyyaml || status=$?
    fi
    local venv="${FK_K8S_LINT_VENV:-$ROOT/target/k8s-lint-venv}"
    if [ ! -x "$venv/bin/checkov" ] || [ ! -x "$venv/bin/kubernetes-validate" ]; then
        echo "installing checkov + kubernetes-validate into $venv"
        { "$PYTHON" -m venv "$venv" \
            && "$venv/bin/pip" install --quiet 'kubernetes-validate>=1.34' 'checkov>=3'; } || status=$?
    else
        echo "checkov + kubernetes-validate: present in $venv"
    fi
    return "$status"
}

run_pytest() {
    mkdir -p "$REPORT_DIR"
    local status=0
    echo "FK_TEST_SERVERS=$FK_TEST_SERVERS"
    "$PYTHON" -m pytest tests/python -v --durations=15 \
        --junitxml="$REPORT_DIR/pytest.xml" "$@" || status=$?
    if [ "$status" -eq 5 ]; then
        echo "pytest collected no tests: that is a failure here" >&2
    fi
    return "$status"
}

run_e2e() {
    mkdir -p "$REPORT_DIR"
    local status=0
    "$PYTHON" -m pytest tests/e2e -v --durations=10 --junitxml="$REPORT_DIR/e2e.xml" || status=$?
    if [ "$status" -eq 5 ]; then
        echo "pytest collected no tests in tests/e2e: that is a failure here" >&2
    fi
    return "$status"
}

main() {
    TOTAL_START=$SECONDS
    run_stage "prerequisites" install_prerequisites
    run_stage "cargo build --release" cargo build --release
    run_stage "cargo test --workspace --profile ci" cargo test --workspace --profile ci --no-fail-fast
    if [ ! -x "$ROOT/target/release/ferrokeeper" ]; then
        echo "note: target/release/ferrokeeper does not exist; ferrokeeper tests will fail" >&2
    fi
    run_stage "pytest tests/python (FK_TEST_SERVERS=$FK_TEST_SERVERS)" run_pytest "$@"
    rm -f "$REPORT_DIR/e2e.xml"
    if [ "${FK_E2E:-1}" != 0 ]; then
        run_stage "pytest tests/e2e (image, tutorial on containers, k8s)" run_e2e
    fi

    banner "summary ($((SECONDS - TOTAL_START))s)"
    for i in "${!STAGES[@]}"; do
        printf '  %-60s %s\n' "${STAGES[$i]}" "${RESULTS[$i]}"
    done
    for report in "$REPORT_DIR/pytest.xml" "$REPORT_DIR/e2e.xml"; do
    if [ -f "$report" ]; then
        "$PYTHON" - "$report" <<'PY' || true
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
t = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
print(f"  pytest: {t['tests']} tests, {t['failures']} failed, {t['errors']} errors, "
      f"{t['skipped']} skipped (report: {sys.argv[1]})")
PY
    fi
    done
    if [ "$FAILED" -ne 0 ]; then
        echo "RESULT: FAILED"
        return 1
    fi
    echo "RESULT: all passed"
}

# Everything runs inside main(), which bash parses completely before running it, so editing
# this file while it runs (a long run, a `git pull`) cannot derail the running script.
main "$@"; exit $?
