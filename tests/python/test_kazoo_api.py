"""Plain client API semantics through kazoo (and a raw socket where kazoo cannot express it)."""

from __future__ import annotations

import pytest
from kazoo.exceptions import (BadVersionError, NoAuthError, NodeExistsError, NoNodeError,
                              NotEmptyError, RolledBackError, RuntimeInconsistency)
from kazoo.security import make_digest_acl, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE

import zkproto


def test_create2_stat_and_versions(zk):
    path, stat = zk.create("/v", b"one", include_data=True)
    assert path == "/v"
    assert stat.version == 0 and stat.cversion == 0 and stat.aversion == 0
    assert stat.czxid == stat.mzxid == stat.pzxid and stat.dataLength == 3
    assert stat.ephemeralOwner == 0 and stat.numChildren == 0
    s1 = zk.set("/v", b"two")
    assert s1.version == 1 and s1.mzxid > stat.mzxid and s1.czxid == stat.czxid
    with pytest.raises(BadVersionError):
        zk.set("/v", b"three", version=0)
    assert zk.set("/v", b"three", version=1).version == 2
    with pytest.raises(NodeExistsError):
        zk.create("/v")
    with pytest.raises(NoNodeError):
        zk.create("/missing/child")
    zk.create("/v/c1")
    zk.create("/v/c2")
    zk.delete("/v/c1")
    parent = zk.exists("/v")
    # cversion counts creates and deletes; pzxid is the last child change
    assert parent.cversion == 3 and parent.numChildren == 1
    assert parent.pzxid > parent.mzxid
    with pytest.raises(NotEmptyError):
        zk.delete("/v")
    with pytest.raises(BadVersionError):
        zk.delete("/v/c2", version=5)
    zk.delete("/v", recursive=True)
    assert zk.exists("/v") is None


def test_sequential_numbering_uses_creates_only(zk):
    zk.create("/seq")
    names = [zk.create("/seq/n-", sequence=True) for _ in range(3)]
    assert names == ["/seq/n-0000000000", "/seq/n-0000000001", "/seq/n-0000000002"]
    zk.delete(names[2])
    zk.delete(names[1])
    assert zk.create("/seq/n-", sequence=True) == "/seq/n-0000000003"
    zk.create("/seq/plain")
    assert zk.create("/seq/", sequence=True) == "/seq/0000000005"


def test_transaction_commits_atomically(zk):
    zk.create("/tx", b"0")
    t = zk.transaction()
    t.create("/tx/a", b"A")
    t.create("/tx/b", b"B")
    t.set_data("/tx", b"1", version=0)
    t.check("/tx/a", 0)
    results = t.commit()
    assert results[0] == "/tx/a" and results[1] == "/tx/b"
    assert results[2].version == 1
    assert results[3] is True
    a, b = zk.exists("/tx/a"), zk.exists("/tx/b")
    assert a.czxid == b.czxid == zk.exists("/tx").mzxid   # one txn, one zxid


def test_failed_transaction_changes_nothing(zk):
    zk.create("/ftx", b"0")
    before = zk.exists("/ftx")
    t = zk.transaction()
    t.create("/ftx/new", b"x")
    t.check("/ftx", 7)                 # wrong version: this op fails
    t.delete("/ftx")
    results = t.commit()
    assert isinstance(results[0], RolledBackError)
    assert isinstance(results[1], BadVersionError)
    assert isinstance(results[2], RuntimeInconsistency)
    assert zk.exists("/ftx/new") is None
    after = zk.exists("/ftx")
    assert after.version == before.version and after.cversion == before.cversion


def test_acl_digest_and_noauth(server, kazoo_factory):
    owner = kazoo_factory(server.hosts, auth_data=[("digest", "alice:secret")])
    acl = [make_digest_acl("alice", "secret", all=True)]
    owner.create("/acl", b"s", acl=acl)
    stranger = kazoo_factory(server.hosts)
    with pytest.raises(NoAuthError):
        stranger.get("/acl")
    with pytest.raises(NoAuthError):
        stranger.set("/acl", b"x")
    with pytest.raises(NoAuthError):
        stranger.get_acls("/acl")
    acls, stat = owner.get_acls("/acl")
    assert [(a.perms, a.id.scheme, a.id.id) for a in acls] == [(31, "digest", acl[0].id.id)]
    owner.set_acls("/acl", acl + list(READ_ACL_UNSAFE), version=0)
    assert stranger.get("/acl")[0] == b"s"
    masked, stat = stranger.get_acls("/acl")   # READ but no ADMIN: digest masked
    assert [(a.id.scheme, a.id.id) for a in masked] == [("digest", "alice:x"), ("world", "anyone")]
    assert stat.aversion == 1
    with pytest.raises(BadVersionError):
        owner.set_acls("/acl", OPEN_ACL_UNSAFE, version=0)
    stranger.add_auth("digest", "alice:secret")
    stranger.set("/acl", b"now allowed")


def test_watch_event_arrives_before_the_read_that_shows_the_change(server, kazoo_factory):
    """ZooKeeper's ordering guarantee: a client sees the event before any later read result.

    Checked on the wire: kazoo runs watch callbacks on a separate thread, so a callback can
    lag behind a reply the server sent after the event; only frame order says what the
    server did."""
    writer = kazoo_factory(server.hosts)
    writer.create("/order", b"0")
    watcher = zkproto.RawSession(server.host, server.port)
    try:
        violations = []
        for i in range(1, 21):
            assert watcher.get_data("/order", watch=True).err == 0
            seen_before = len(watcher.notifications)
            writer.set("/order", str(i).encode())
            # poll with reads until the new value is visible; the event must have come first
            for _ in range(1000):
                rep = watcher.get_data("/order")
                if zkproto.Reader(rep.body).buffer() == str(i).encode():
                    events = watcher.notifications[seen_before:]
                    if events != [(zkproto.NODE_DATA_CHANGED, 3, "/order")]:
                        violations.append((i, events))
                    break
            else:
                pytest.fail("write never became visible")
        assert violations == []
    finally:
        watcher.close()


def test_large_data_round_trip(zk):
    big = bytes(range(256)) * 3900        # 998,400 bytes: under jute.maxbuffer (1,048,575)
    zk.create("/big", big)
    data, stat = zk.get("/big")
    assert data == big and stat.dataLength == len(big)


def test_null_and_empty_data_are_distinct(server):
    raw = zkproto.RawSession(server.host, server.port)
    try:
        assert raw.create("/nulldata", None).err == 0
        assert raw.create("/emptydata", b"").err == 0
        rep = raw.get_data("/nulldata")
        r = zkproto.Reader(rep.body)
        assert rep.err == 0 and r.buffer() is None and r.stat().data_length == 0
        rep = raw.get_data("/emptydata")
        r = zkproto.Reader(rep.body)
        assert rep.err == 0 and r.buffer() == b"" and r.stat().data_length == 0
    finally:
        raw.close_session()


def test_misc_reads(zk):
    assert zk.server_version()[:2] == (3, 8)   # kazoo parses `envi`
    zk.create("/m/a/b", makepath=True)
    zk.sync("/m")
    assert sorted(zk.get_children("/")) == ["m", "zookeeper"]
    assert sorted(zk.get_children("/zookeeper")) == ["config", "quota"]
    children, stat = zk.get_children("/m", include_data=True)
    assert children == ["a"] and stat.numChildren == 1
    data, stat = zk.get("/")
    assert data == b"" and stat.czxid == 0 and stat.numChildren == 2
    with pytest.raises(NoNodeError):
        zk.get_children("/nope")
