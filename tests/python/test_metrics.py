"""Prometheus /metrics (metricsProvider.className = …PrometheusMetricsProvider).

The exposition is parsed by prometheus_client's own text parser. The names are the ones Java's
Prometheus provider exports for the same quantities: every mntr key of Java 3.8 (recorded in
expected/fourlw_golden.jsonl) without its zk_ prefix, summaries as summaries. Counters and
gauges move when operations happen, and each opcode has a latency histogram.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Dict

import pytest

import zkharness as h

prometheus_parser = pytest.importorskip("prometheus_client.parser")

GOLDEN = Path(__file__).resolve().parent / "expected" / "fourlw_golden.jsonl"
PROMETHEUS = "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider"
SUMMARY_PREFIXES = ("avg_", "min_", "max_", "cnt_", "sum_", "p50_", "p95_", "p99_", "p999_")


def java_metric_families() -> Dict[str, str]:
    """name -> type, from the mntr keys Java 3.8.0 printed."""
    for line in GOLDEN.read_text().splitlines():
        record = json.loads(line)
        if record["4lw"] == "mntr":
            keys = [l.split("\t")[0][3:] for l in record["text"].splitlines()]
            break
    keys = [k for k in keys if k not in ("version", "server_state") and not k.endswith("_per_namespace")]
    summaries = {k[4:] for k in keys if k.startswith("cnt_")}
    families = {}
    for key in keys:
        base = next((key[len(p):] for p in SUMMARY_PREFIXES if key.startswith(p) and key[len(p):] in summaries),
                    None)
        if base is not None:
            families[base] = "summary"
        else:
            families[key] = "gauge_or_counter"
    return families


def scrape(port: int):
    with urllib.request.urlopen(f"http://{h.HOST}:{port}/metrics", timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = r.read().decode()
    families = {f.name: f for f in prometheus_parser.text_string_to_metric_families(text)}
    return families


def value(families, name: str, suffix: str = "", **labels) -> float:
    for sample in families[name].samples:
        # the parser names counter samples <name>_total whether or not the text had the suffix
        if sample.name in (name + suffix, name + "_total") and all(sample.labels.get(k) == v for k, v in labels.items()):
            return sample.value
    raise KeyError((name, suffix, labels))


@pytest.fixture
def fk_metrics(server_factory):
    h.require_kind("ferrokeeper")
    port = h.free_port()
    srv = server_factory("ferrokeeper", extra_cfg={"metricsProvider.className": PROMETHEUS,
                                                   "metricsProvider.httpPort": str(port),
                                                   "metricsProvider.httpHost": h.HOST})
    deadline = time.monotonic() + 20
    while True:
        try:
            scrape(port)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    srv.metrics_port = port
    return srv


def test_java_metric_names_are_exported(fk_metrics):
    families = scrape(fk_metrics.metrics_port)
    expected = java_metric_families()
    missing = sorted(set(expected) - set(families))
    assert not missing, f"missing metric families: {missing}"
    for name, kind in expected.items():
        if kind == "summary":
            assert families[name].type == "summary", name
            assert {s.name for s in families[name].samples} >= {name + "_count", name + "_sum"}, name
        else:
            assert families[name].type in ("gauge", "counter"), (name, families[name].type)
    for gauge in ("znode_count", "num_alive_connections", "packets_received", "uptime", "watch_count"):
        assert families[gauge].type == "gauge", gauge
    for counter in ("connection_request_count", "bytes_received_count", "snap_count"):
        assert families[counter].type == "counter", counter
    assert families["ferrokeeper_request_latency_seconds"].type == "histogram"
    assert families["process_open_fds"].type == "gauge"


def test_counters_move_with_operations(fk_metrics, kazoo_factory):
    port = fk_metrics.metrics_port
    before = scrape(port)
    zk = kazoo_factory(fk_metrics.hosts)
    for i in range(5):
        zk.create(f"/m{i}", b"x" * i)
    for i in range(7):
        zk.get(f"/m{i % 5}")
    zk.exists("/m0", watch=lambda e: None)
    after = scrape(port)

    assert value(after, "znode_count") == value(before, "znode_count") + 5
    assert value(after, "num_alive_connections") == value(before, "num_alive_connections") + 1
    assert value(after, "watch_count") == 1
    assert value(after, "packets_received") >= value(before, "packets_received") + 13
    assert value(after, "packets_sent") >= value(before, "packets_sent") + 13
    assert value(after, "connection_request_count") == value(before, "connection_request_count") + 1
    assert value(after, "updatelatency", "_count") >= value(before, "updatelatency", "_count") + 5
    assert value(after, "readlatency", "_count") >= value(before, "readlatency", "_count") + 8
    hist = "ferrokeeper_request_latency_seconds"
    assert value(after, hist, "_count", op="create") == 5
    assert value(after, hist, "_count", op="getData") == 7
    assert value(after, hist, "_count", op="exists") == 1
    assert value(after, hist, "_bucket", op="create", le="+Inf") == 5
    # buckets are cumulative
    buckets = [s.value for s in after[hist].samples if s.name == hist + "_bucket" and s.labels["op"] == "create"]
    assert buckets == sorted(buckets)
    assert value(after, "uptime") > 0


def test_metrics_endpoint_is_off_without_the_prometheus_provider(server_factory):
    h.require_kind("ferrokeeper")
    port = h.free_port()
    srv = server_factory("ferrokeeper", extra_cfg={"metricsProvider.httpPort": str(port)})
    assert srv.four_letter("ruok") == "imok"
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://{h.HOST}:{port}/metrics", timeout=2)
