"""Durability: data and sessions survive a restart (clean or kill -9), and a dataDir written by
one server kind is read by the other (drop-in replacement in both directions)."""

from __future__ import annotations

import shutil
import signal

import pytest
from kazoo.security import make_digest_acl

import zkharness as h
import zkproto

STAT_FIELDS = ("czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion",
               "ephemeralOwner", "dataLength", "numChildren", "pzxid")


ALICE = [("digest", "alice:secret")]


def populate(zk):
    zk.create("/p/a", b"alpha", makepath=True)
    zk.create("/p/b", b"")
    zk.set("/p/a", b"alpha2")
    zk.set("/p/a", b"alpha3")
    for _ in range(3):
        zk.create("/p/s-", b"seq", sequence=True)
    zk.delete("/p/s-0000000003")
    zk.create("/p/acl", b"x", acl=[make_digest_acl("alice", "secret", all=True)])
    zk.create("/p/deep/er/est", b"d", makepath=True)
    t = zk.transaction()
    t.create("/p/m1", b"1")
    t.create("/p/m2", b"2")
    t.commit()
    zk.create("/p/gone")
    zk.delete("/p/gone")


def snapshot_tree(zk, root="/"):
    """{path: (data, stat tuple, acl tuple)} for every node (zk must be authenticated as alice)."""
    out = {}
    stack = [root]
    while stack:
        path = stack.pop()
        data, stat = zk.get(path)
        children = zk.get_children(path)
        acls, _ = zk.get_acls(path)
        out[path] = (data, tuple(getattr(stat, f) for f in STAT_FIELDS),
                     tuple((a.perms, a.id.scheme, a.id.id) for a in acls))
        for c in children:
            stack.append(path.rstrip("/") + "/" + c)
    return out


def last_zxid(server):
    for line in server.four_letter("srvr").splitlines():
        if line.startswith("Zxid: "):
            return int(line.split()[1], 16)
    raise AssertionError("no Zxid line")


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_data_survives_restart(server, kazoo_factory, how):
    zk = kazoo_factory(server.hosts, auth_data=ALICE)
    populate(zk)
    zk.create("/p/eph", b"e", ephemeral=True)
    zk.stop()                                  # its ephemeral is deleted (a txn)
    zk = kazoo_factory(server.hosts, auth_data=ALICE)
    before = snapshot_tree(zk)
    zxid = last_zxid(server)
    zk.stop()
    server.stop(signal.SIGTERM if how == "sigterm" else signal.SIGKILL)
    server.start()
    zk = kazoo_factory(server.hosts, auth_data=ALICE)
    after = snapshot_tree(zk)
    assert after == before
    assert "/p/eph" not in after
    assert last_zxid(server) >= zxid
    # counters continue where they were
    assert zk.create("/p/s-", sequence=True) == "/p/s-0000000011"
    assert zk.exists("/p/s-0000000011").czxid > zxid


def test_session_and_ephemeral_survive_restart(server, kazoo_factory):
    raw = zkproto.RawSession(server.host, server.port, timeout_ms=30000)
    assert raw.create("/keep", b"", flags=zkproto.EPHEMERAL).err == 0
    raw.close()                                # no closeSession
    server.stop(signal.SIGKILL)
    server.start()
    client = kazoo_factory(server.hosts, client_id=(raw.session_id, raw.passwd))
    assert client.client_id[0] == raw.session_id
    assert client.exists("/keep").ephemeralOwner == raw.session_id
    observer = kazoo_factory(server.hosts)
    client.stop()
    assert observer.exists("/keep") is None


@pytest.mark.parametrize("writer_kind,reader_kind", [("java", "ferrokeeper"), ("ferrokeeper", "java")])
def test_datadir_is_compatible(tmp_path, kazoo_factory, request, writer_kind, reader_kind):
    h.require_kind(writer_kind)
    h.require_kind(reader_kind)
    writer = h.ServerHandle(writer_kind, tmp_path / "writer")
    request.node._fk_servers = [writer]
    try:
        writer.start()
        zk = kazoo_factory(writer.hosts, auth_data=ALICE)
        populate(zk)
        raw = zkproto.RawSession(writer.host, writer.port, timeout_ms=30000)
        assert raw.create("/p/eph", b"e", flags=zkproto.EPHEMERAL).err == 0
        raw.close()
        before = snapshot_tree(zk)
        zk.stop()
    finally:
        writer.stop()
    # the reader gets the writer's data directory (txn log + snapshots) as is
    reader = h.ServerHandle(reader_kind, tmp_path / "reader")
    shutil.rmtree(reader.data_dir)
    shutil.copytree(writer.data_dir, reader.data_dir)
    request.node._fk_servers.append(reader)
    try:
        reader.start()
        zk = kazoo_factory(reader.hosts, auth_data=ALICE)
        after = snapshot_tree(zk)
        assert after == before
        # the session was restored as well: it can be resumed and still owns its ephemeral
        client = kazoo_factory(reader.hosts, client_id=(raw.session_id, raw.passwd))
        assert client.exists("/p/eph").ephemeralOwner == raw.session_id
        assert zk.create("/p/s-", sequence=True) == "/p/s-0000000011"
    finally:
        reader.stop()
