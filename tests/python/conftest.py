"""pytest fixtures for the ferrokeeper black-box suite.

Which server kinds run is chosen by ``FK_TEST_SERVERS`` (comma list of ``java`` and
``ferrokeeper``; default ``ferrokeeper``).

Fixtures
--------
server_kind      parametrized over the enabled kinds (tests using ``server`` run once per kind)
server           a fresh standalone server of ``server_kind`` (new tmp dataDir, free loopback port)
server_factory   start extra servers: ``server_factory(kind, extra_cfg={...})``
java_server      a fresh Java server (differential tests)
fk_server        a fresh ferrokeeper server (differential tests)
kazoo_factory    ``kazoo_factory(hosts, **kw)`` -> started KazooClient, stopped at teardown

Availability rules: only enabled kinds run.  An enabled kind whose server cannot be started
fails the test; tests needing a kind that is not enabled (``java_server``/``fk_server`` in
differential tests) are skipped.

When a test fails, the tail of every server log it used is attached to the report.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import zkharness as h  # noqa: E402

ENABLED_KINDS = h.enabled_kinds()
_counter = itertools.count(1)

# kazoo is chatty at WARNING when connections drop on purpose (bad-input and session tests)
logging.getLogger("kazoo").setLevel(logging.ERROR)


def pytest_report_header(config):
    lines = [f"FK_TEST_SERVERS={','.join(ENABLED_KINDS)}"]
    for kind in h.KINDS:
        reason = h.kind_unavailable_reason(kind)
        lines.append(f"  {kind}: {'available' if reason is None else 'UNAVAILABLE: ' + reason}")
    return lines


def pytest_generate_tests(metafunc):
    if "server_kind" in metafunc.fixturenames:
        metafunc.parametrize("server_kind", ENABLED_KINDS, ids=ENABLED_KINDS)


# A watchdog for every test phase: a server that accepts requests but never answers would
# otherwise block kazoo's synchronous calls forever.  SIGALRM interrupts the main thread.
PHASE_TIMEOUT_S = int(os.environ.get("FK_TEST_TIMEOUT", "180"))


class PhaseTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise PhaseTimeout(f"test phase exceeded FK_TEST_TIMEOUT={PHASE_TIMEOUT_S}s")


@contextlib.contextmanager
def _watchdog():
    if PHASE_TIMEOUT_S <= 0 or not hasattr(signal, "SIGALRM"):
        yield
        return
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(PHASE_TIMEOUT_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    with _watchdog():
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    with _watchdog():
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    with _watchdog():
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for handle in getattr(item, "_fk_servers", []):
            report.sections.append(
                (f"{handle.kind} server log tail ({handle.log_path})", handle.log_tail(80)))


def _start(request, tmp_path_factory, kind, **kwargs):
    workdir = tmp_path_factory.mktemp(f"{kind}-{next(_counter)}")
    handle = h.ServerHandle(kind, workdir, **kwargs)
    servers = getattr(request.node, "_fk_servers", None)
    if servers is None:
        servers = []
        request.node._fk_servers = servers
    servers.append(handle)
    handle.start()
    return handle


@pytest.fixture
def server_factory(request, tmp_path_factory):
    started = []

    def factory(kind, **kwargs):
        if kind not in h.KINDS:
            raise ValueError(kind)
        handle = _start(request, tmp_path_factory, kind, **kwargs)
        started.append(handle)
        return handle

    yield factory
    for handle in reversed(started):
        handle.stop()


@pytest.fixture
def server(server_kind, server_factory):
    return server_factory(server_kind)


require_kind = h.require_kind


@pytest.fixture
def java_server(server_factory):
    require_kind("java")
    return server_factory("java")


@pytest.fixture
def fk_server(server_factory):
    require_kind("ferrokeeper")
    return server_factory("ferrokeeper")


@pytest.fixture
def kazoo_factory():
    from kazoo.client import KazooClient

    clients = []

    def factory(hosts, timeout=10.0, start=True, **kwargs):
        kwargs.setdefault("connection_retry", {"max_tries": 3, "delay": 0.1, "max_delay": 1})
        # recipes (Counter, Queue, Lock...) use client.retry to redo an operation that lost a
        # race (BadVersion, NodeExists, ForceRetry): many quick attempts, bounded by a deadline
        kwargs.setdefault("command_retry", {"max_tries": 100, "delay": 0.01, "max_delay": 0.2,
                                            "deadline": 30})
        client = KazooClient(hosts=hosts, timeout=timeout, **kwargs)
        clients.append(client)
        if start:
            client.start(timeout=15)
        return client

    yield factory
    for client in clients:
        try:
            client.stop()
        except Exception:
            pass
        try:
            client.close()
        except Exception:
            pass


@pytest.fixture
def zk(server, kazoo_factory):
    """A started kazoo client connected to ``server``."""
    return kazoo_factory(server.hosts)
