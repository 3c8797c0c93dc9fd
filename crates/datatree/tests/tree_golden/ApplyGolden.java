// Golden scenarios for DataTree::apply and the watch manager: every txn and watch operation is
// run through the real DataTree of Debian's zookeeper 3.8.0 package (3.8.0-11+deb12u2, which
// carries the CVE-2024-23944 event filter), and what it did is recorded: the ProcessTxnResult,
// the events each watcher received (with the ACL the filter checks), and after every txn the
// whole tree (nodes, ACL cache, ephemerals, containers, TTLs, digest, counters).
//
// Regenerate:
//   CP=/usr/share/java/zookeeper.jar:/usr/share/java/zookeeper-jute.jar:/usr/share/java/slf4j-api.jar:/usr/share/java/slf4j-nop.jar:/usr/share/java/metrics-core.jar
//   javac -cp $CP -d /tmp/golden ApplyGolden.java && java -cp $CP:/tmp/golden org.apache.zookeeper.server.ApplyGolden > apply.txt
//
// Script lines (tab separated):
//   # <scenario>            reset                          a fresh tree
//   txn <hex TxnHeader> <hex txn record or ->               apply it
//   result <err> <type> <path|-> <hex Stat|-> <sub results>   then one `sub` line per sub result
//   watch <kind> <path> <watcher> [<watcher type>]  ->  answer <ok|err code|true|false>
//       kinds: data (getData), exists (statNode), child (getChildren), persistent, recursive
//       (addWatch), check / remove (containsWatcher / removeWatch with a WatcherType), drop
//       (the connection closed; path is -)
//   setwatches <watcher> <relative zxid> <data> <exist> <child> <persistent> <recursive>
//       (comma-separated paths, - for none)
//   events <watcher>=<type>:<path>:<hex ACL vector|->,...  ...   what each watcher got, in order
//   state ... / node ... / acl ... / ephemerals ... / containers ... / ttls ...   the tree
//   snapshot <hex DataTree.serialize>   the tree written as a snapshot and read back into a fresh
//       tree (DataTree.deserialize), which the script goes on with; its state follows


package org.apache.zookeeper.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.*;
import org.apache.jute.BinaryOutputArchive;
import org.apache.jute.Record;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher.WatcherType;
import org.apache.zookeeper.ZooDefs.Ids;
import org.apache.zookeeper.ZooDefs.OpCode;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.apache.zookeeper.server.watch.WatchesSummary;
import org.apache.zookeeper.txn.*;

public class ApplyGolden {
    static final long A = 0x0100000000000001L;
    static final long B = 0x0100000000000002L;
    static final List<ACL> OPEN = Ids.OPEN_ACL_UNSAFE;
    static final List<ACL> READ = Ids.READ_ACL_UNSAFE;
    static final List<ACL> ALICE = Arrays.asList(new ACL(31, new Id("digest", "alice:hash")));
    static final List<ACL> MIXED = Arrays.asList(new ACL(1, new Id("world", "anyone")), new ACL(31, new Id("digest", "alice:hash")));

    DataTree tree;
    long zxid;
    long time;
    Map<Long, W> watchers = new HashMap<>();
    SortedMap<Long, List<String>> got = new TreeMap<>();

    class W implements ServerWatcher {
        final long id;
        W(long id) {
            this.id = id;
        }
        public void process(WatchedEvent event) {
            process(event, null);
        }
        public void process(WatchedEvent event, List<ACL> acl) {
            String aclText = acl == null || acl.isEmpty() ? "-" : hex(aclBytes(acl));
            got.computeIfAbsent(id, k -> new ArrayList<>())
                .add(event.getType().getIntValue() + ":" + event.getPath() + ":" + aclText);
        }
    }

    W w(long id) {
        return watchers.computeIfAbsent(id, W::new);
    }

    static String hex(byte[] bytes) {
        StringBuilder sb = new StringBuilder();
        for (byte b : bytes) {
            sb.append(String.format("%02x", b & 0xff));
        }
        return sb.length() == 0 ? "-" : sb.toString();
    }

    static byte[] bytes(Record record) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            record.serialize(BinaryOutputArchive.getArchive(out), "r");
            return out.toByteArray();
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    static byte[] aclBytes(List<ACL> acl) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            BinaryOutputArchive archive = BinaryOutputArchive.getArchive(out);
            archive.startVector(acl, "acl");
            for (ACL entry : acl) {
                entry.serialize(archive, "acl");
            }
            archive.endVector(acl, "acl");
            return out.toByteArray();
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    static byte[] utf8(String text) {
        return text == null ? null : text.getBytes(StandardCharsets.UTF_8);
    }

    void reset(String name) {
        tree = new DataTree();
        zxid = 0;
        time = 1_700_000_000_000L;
        watchers.clear();
        got.clear();
        System.out.println("# " + name);
        System.out.println("reset");
    }

    // ---- txns ------------------------------------------------------------------------------

    void txn(long session, int type, Record record) {
        zxid++;
        time += 7;
        txnAt(session, zxid, type, record);
    }

    /** Applies a txn with an explicit zxid (replays). */
    void txnAt(long session, long atZxid, int type, Record record) {
        TxnHeader header = new TxnHeader(session, 1, atZxid, time, type);
        System.out.println("txn\t" + hex(bytes(header)) + "\t" + (record == null ? "-" : hex(bytes(record))));
        DataTree.ProcessTxnResult rc = tree.processTxn(header, record);
        List<DataTree.ProcessTxnResult> subs = rc.multiResult == null ? Collections.emptyList() : rc.multiResult;
        System.out.println("result\t" + line(rc) + "\t" + subs.size());
        for (DataTree.ProcessTxnResult sub : subs) {
            System.out.println("sub\t" + line(sub));
        }
        events();
        state();
    }

    static String line(DataTree.ProcessTxnResult rc) {
        String path = rc.path == null || rc.path.isEmpty() ? "-" : rc.path;
        String stat = rc.stat == null ? "-" : hex(bytes(rc.stat));
        return rc.err + "\t" + rc.type + "\t" + path + "\t" + stat;
    }

    static CreateTxn create(String path, String data, List<ACL> acl, boolean ephemeral, int parentCVersion) {
        return new CreateTxn(path, utf8(data), acl, ephemeral, parentCVersion);
    }

    void create(String path, String data) {
        txn(A, OpCode.create, create(path, data, OPEN, false, -1));
    }

    void create(long session, String path, String data, List<ACL> acl, boolean ephemeral, int parentCVersion) {
        txn(session, OpCode.create, create(path, data, acl, ephemeral, parentCVersion));
    }

    void create2(String path, String data, List<ACL> acl) {
        txn(A, OpCode.create2, create(path, data, acl, false, -1));
    }

    void container(String path) {
        txn(A, OpCode.createContainer, new CreateContainerTxn(path, utf8("c"), OPEN, -1));
    }

    void ttl(String path, long ttl) {
        txn(A, OpCode.createTTL, new CreateTTLTxn(path, utf8("t"), OPEN, -1, ttl));
    }

    void delete(String path) {
        txn(A, OpCode.delete, new DeleteTxn(path));
    }

    void setData(String path, String data, int version) {
        txn(A, OpCode.setData, new SetDataTxn(path, utf8(data), version));
    }

    void setAcl(String path, List<ACL> acl, int version) {
        txn(A, OpCode.setACL, new SetACLTxn(path, acl, version));
    }

    static Txn sub(int type, Record record) {
        return new Txn(type, bytes(record));
    }

    void multi(Txn... txns) {
        txn(A, OpCode.multi, new MultiTxn(Arrays.asList(txns)));
    }

    // ---- watches ---------------------------------------------------------------------------

    void watch(String kind, String path, long id) {
        watch(kind, path, id, 0);
    }

    void watch(String kind, String path, long id, int type) {
        String answer = "ok";
        try {
            switch (kind) {
                case "data":
                    tree.getData(path, new Stat(), w(id));
                    break;
                case "exists":
                    tree.statNode(path, w(id));
                    break;
                case "child":
                    tree.getChildren(path, null, w(id));
                    break;
                case "persistent":
                    tree.addWatch(path, w(id), 0);
                    break;
                case "recursive":
                    tree.addWatch(path, w(id), 1);
                    break;
                case "check":
                    answer = Boolean.toString(tree.containsWatcher(path, WatcherType.fromInt(type), w(id)));
                    break;
                case "remove":
                    answer = Boolean.toString(tree.removeWatch(path, WatcherType.fromInt(type), w(id)));
                    break;
                case "drop":
                    tree.removeCnxn(w(id));
                    break;
                default:
                    throw new IllegalArgumentException(kind);
            }
        } catch (org.apache.zookeeper.KeeperException e) {
            answer = "err " + e.code().intValue();
        }
        System.out.println("watch\t" + kind + "\t" + path + "\t" + id + "\t" + type);
        System.out.println("answer\t" + answer);
        events();
    }

    static String joined(List<String> paths) {
        return paths.isEmpty() ? "-" : String.join(",", paths);
    }

    void setWatches(long id, long relativeZxid, List<String> data, List<String> exist, List<String> child,
                    List<String> persistent, List<String> recursive) {
        System.out.println("setwatches\t" + id + "\t" + relativeZxid + "\t" + joined(data) + "\t" + joined(exist)
            + "\t" + joined(child) + "\t" + joined(persistent) + "\t" + joined(recursive));
        tree.setWatches(relativeZxid, data, exist, child, persistent, recursive, w(id));
        events();
    }

    void events() {
        StringBuilder sb = new StringBuilder("events");
        for (Map.Entry<Long, List<String>> e : got.entrySet()) {
            sb.append('\t').append(e.getKey()).append('=').append(String.join(",", e.getValue()));
        }
        System.out.println(sb);
        got.clear();
    }

    // ---- state -----------------------------------------------------------------------------

    void state() {
        WatchesSummary summary = tree.getWatchesSummary();
        System.out.println("state\tdigest=" + Long.toHexString(tree.getTreeDigest())
            + "\tcount=" + tree.getNodeCount()
            + "\tsize=" + tree.cachedApproximateDataSize()
            + "\tzxid=" + Long.toHexString(tree.lastProcessedZxid)
            + "\twatches=" + tree.getWatchCount()
            + "\tsummary=" + summary.getNumConnections() + "/" + summary.getNumPaths() + "/" + summary.getTotalWatches()
            + "\tephemerals=" + tree.getEphemeralsCount());
        SortedMap<String, DataNode> nodes = new TreeMap<>();
        collect("", "/", nodes);
        for (Map.Entry<String, DataNode> e : nodes.entrySet()) {
            DataNode node = e.getValue();
            String data = node.data == null ? "null" : "x" + (node.data.length == 0 ? "" : hex(node.data));
            System.out.println("node\t" + e.getKey() + "\t" + data + "\t" + node.acl + "\t" + hex(bytes(node.stat))
                + "\t" + node.getChildren().size());
        }
        ReferenceCountedACLCache cache = tree.getReferenceCountedAclCache();
        for (Long id : new TreeSet<>(cache.longKeyMap.keySet())) {
            Object refs = cache.referenceCounter.get(id);
            System.out.println("acl\t" + id + "\t" + refs + "\t" + hex(aclBytes(cache.longKeyMap.get(id))));
        }
        for (Map.Entry<Long, Set<String>> e : new TreeMap<>(tree.getEphemerals()).entrySet()) {
            System.out.println("ephemerals\t" + Long.toHexString(e.getKey()) + "\t" + joined(new ArrayList<>(new TreeSet<>(e.getValue()))));
        }
        System.out.println("containers\t" + joined(new ArrayList<>(new TreeSet<>(tree.getContainers()))));
        System.out.println("ttls\t" + joined(new ArrayList<>(new TreeSet<>(tree.getTtls()))));
    }

    void collect(String lookup, String shown, SortedMap<String, DataNode> out) {
        DataNode node = tree.getNode(lookup);
        out.put(shown, node);
        for (String child : node.getChildren()) {
            String path = lookup + "/" + child;
            collect(path, path, out);
        }
    }

        void reload() {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            tree.serialize(BinaryOutputArchive.getArchive(out), "tree");
            System.out.println("snapshot\t" + hex(out.toByteArray()));
            DataTree loaded = new DataTree();
            loaded.deserialize(org.apache.jute.BinaryInputArchive.getArchive(
                new java.io.ByteArrayInputStream(out.toByteArray())), "tree");
            tree = loaded;
            watchers.clear();
            state();
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    // ---- scenarios -------------------------------------------------------------------------


    void run() {
        reset("fresh tree");
        state();

        reset("creates, cversion, pzxid, versions");
        create("/a", "x");
        create2("/a/b", "yy", OPEN);
        create("/a/c", null);
        create2("/e", "", OPEN);
        setData("/a/b", "zzz", 1);
        setData("/a/b", null, 2);
        setData("/a/b", "", 3);
        delete("/a/c");
        create("/a/c", "again");
        setData("/", "rootdata", 1);
        delete("/e");
                setAcl("/a", READ, 1);
        txn(A, OpCode.reconfig, new SetDataTxn("/zookeeper/config", utf8("server.1=h:2888:3888"), 1));
        reload();
        setData("/", "r", 2);
        create("/after", "load");


        reset("failures and replays");
        create("/p", "p");
        create("/p/q", "q");
        txnAt(A, 2, OpCode.create, create("/p/q", "q", OPEN, false, 1)); // same create again
        txn(A, OpCode.create, create("/p/q", "q", OPEN, false, 5));     // NodeExists with a larger cversion
        txn(A, OpCode.create, create("/p/q", "q", OPEN, false, -1));    // NodeExists with -1
        txn(A, OpCode.create2, create("/p/q", "q", OPEN, false, 9));    // create2: no fix-up
        txn(A, OpCode.create, create("/none/x", "x", OPEN, false, -1));
        delete("/p/ghost");
        txnAt(A, 3, OpCode.delete, new DeleteTxn("/p/ghost2"));
        delete("/none/x");
        setData("/none", "x", 1);
        setAcl("/none", OPEN, 1);
        txn(A, OpCode.error, new ErrorTxn(-103));
        txn(A, OpCode.create, create("/p/r", "r", OPEN, false, 1));     // smaller than stored: no move
        txnAt(A, 4, OpCode.create, create("/p/s", "s", OPEN, false, 20)); // older zxid, larger cversion

        reset("acl cache");
        create(A, "/x", "x", ALICE, false, -1);
        create(A, "/y", "y", ALICE, false, -1);
        create(A, "/z", "z", MIXED, false, -1);
        create(A, "/x", "x", READ, false, -1); // NodeExists after the ACL was counted
        delete("/y");
        setAcl("/z", MIXED, 1);               // only user: released, then a new id
                setAcl("/x", OPEN, 1);
        reload();
        create(A, "/w", "w", READ, false, -1);
        create(A, "/v", "v", ALICE, false, -1);
        delete("/x");


        reset("ephemerals and sessions");
        txn(A, OpCode.createSession, new CreateSessionTxn(30000));
        txn(B, OpCode.createSession, new CreateSessionTxn(5000));
        create("/app", null);
        create(A, "/app/a1", "1", OPEN, true, -1);
        create(A, "/app/a2", "2", OPEN, true, -1);
        create(B, "/app/b1", "1", OPEN, true, -1);
        watch("data", "/app/a1", 1);
        watch("child", "/app", 2);
        delete("/app/a2");
        txn(A, OpCode.closeSession, new CloseSessionTxn(Arrays.asList("/app/a1", "/app/gone")));
                create(B, "/app/b2", "2", OPEN, true, -1);
        reload();
        txn(B, OpCode.closeSession, null);


        reset("containers and ttls");
        System.setProperty("zookeeper.extendedTypesEnabled", "true");
        container("/c");
        ttl("/t", 5000);
        create("/c/kid", "k");
        delete("/c/kid");
                reload();
        txn(A, OpCode.deleteContainer, new DeleteTxn("/c"));
        txn(A, OpCode.deleteContainer, new DeleteTxn("/t"));


        reset("multi");
        create("/m", "m");
        watch("child", "/m", 1);
        watch("exists", "/m/new", 2);
        multi(sub(OpCode.create, create("/m/new", "n", OPEN, false, 1)),
              sub(OpCode.setData, new SetDataTxn("/m", utf8("mm"), 1)),
              sub(OpCode.check, new CheckVersionTxn("/m", 1)),
              sub(OpCode.createContainer, new CreateContainerTxn("/m/c", null, OPEN, 2)),
              sub(OpCode.createTTL, new CreateTTLTxn("/m/t", null, OPEN, 3, 100)),
              sub(OpCode.delete, new DeleteTxn("/m/new")));
        multi(sub(OpCode.create, create("/m/f", "f", OPEN, false, 5)),
              sub(OpCode.error, new ErrorTxn(-101)),
              sub(OpCode.error, new ErrorTxn(-2)));
        multi(sub(OpCode.error, new ErrorTxn(-110)),
              sub(OpCode.setData, new SetDataTxn("/m", utf8("no"), 2)));
        multi(sub(OpCode.create, create("/m/c", "dup", OPEN, false, 4)),
              sub(OpCode.create, create("/m/g", "g", OPEN, false, 5)));
        multi();

        reset("watches: one-shot");
        create("/w", "w");
        watch("data", "/w", 1);
        watch("exists", "/w", 2);
        watch("data", "/missing", 3);
        watch("exists", "/missing", 3);
        watch("child", "/w", 4);
        watch("child", "/missing", 4);
        setData("/w", "1", 1);
        setData("/w", "2", 2);
        create("/missing", "now");
        create("/w/kid", "k");
        create("/w/kid2", "k");
        watch("data", "/w/kid", 5);
        watch("child", "/w/kid", 5);
        watch("child", "/w/kid", 6);
        watch("child", "/w", 7);
        delete("/w/kid");
        watch("data", "/w", 8);
        watch("check", "/w", 8, 2);
        watch("check", "/w", 8, 1);
        watch("check", "/w", 8, 3);
        watch("remove", "/w", 8, 1);
        watch("remove", "/w", 8, 2);
        watch("remove", "/w", 8, 2);
        watch("child", "/w", 9);
        watch("data", "/w", 9);
        watch("remove", "/w", 9, 3);
        watch("child", "/w", 10);
        watch("drop", "-", 10);
        delete("/w/kid2");

        reset("watches: persistent and recursive");
        create("/r", "r");
        watch("persistent", "/r", 1);
        watch("recursive", "/r", 2);
        watch("recursive", "/", 3);
        create("/r/a", "a");
        create("/r/a/b", "b");
        setData("/r/a/b", "bb", 1);
        setData("/r", "rr", 1);
        delete("/r/a/b");
        delete("/r/a");
        create("/other", "o");
        watch("remove", "/r", 1, 3);
        watch("check", "/r", 2, 3);
        setData("/r", "x", 2);
        watch("drop", "-", 3);
        delete("/r");
        create("/r", "back");

        reset("watches: checkWatches and removeWatches as 3.8 answers them");
        create("/w", "w");
        create("/p", "p");
        create("/r", "r");
        create("/r/x", "x");
        watch("data", "/w", 1);
        watch("check", "/w", 2, 2);  // another connection's watch counts
        watch("check", "/w", 2, 1);
        watch("check", "/w", 2, 3);
        watch("remove", "/w", 2, 2); // but removal is per connection
        watch("persistent", "/p", 3);
        watch("check", "/p", 3, 2);
        watch("check", "/p", 3, 1);
        watch("remove", "/p", 3, 2); // Data removes the persistent watch from the data table
        setData("/p", "p2", 1);
        create("/p/c", "c");
        watch("remove", "/p", 3, 1);
        create("/p/d", "d");
        watch("recursive", "/r", 4);
        watch("check", "/r", 4, 2);
        watch("remove", "/r", 4, 2); // the child-table copy still sees deletes below
        create("/r/y", "y");
        delete("/r/x");
        watch("check", "/r", 4, 1);
        watch("remove", "/r", 4, 3);
        delete("/r/y");

        reset("watch delivery carries the acl");
        create(A, "/open", "o", OPEN, false, -1);
        watch("recursive", "/", 1);
        watch("child", "/open", 2);
        create(A, "/open/secret", "s", ALICE, false, -1);
        watch("data", "/open/secret", 3);
        watch("child", "/open/secret", 3);
        setData("/open/secret", "t", 1);
        create(A, "/open/secret/kid", "k", MIXED, false, -1);
        delete("/open/secret/kid");
        watch("data", "/open/secret", 4);
        delete("/open/secret");

        reset("setWatches");
        create("/same", "s");
        create("/changed", "c");
        create("/kids", "k");
        setData("/changed", "cc", 1);
        create("/kids/k", "k");
        create("/appeared", "a");
        setWatches(7, 3,
            Arrays.asList("/same", "/changed", "/vanished"),
            Arrays.asList("/appeared", "/absent"),
            Arrays.asList("/kids", "/same", "/gone"),
            Arrays.asList("/p"),
            Arrays.asList("/rr"));
        create("/absent", "a");
        setData("/same", "s2", 1);
        create("/p", "p");
        create("/rr", "r");
        create("/rr/x", "x");
        create("/same/k", "k");

        reset("quotas");
        create("/q", "x");
        create("/q/a", "xy");
        create("/zookeeper/quota/q", null);
        create("/zookeeper/quota/q/zookeeper_limits", "count=10,bytes=-1");
        create("/zookeeper/quota/q/zookeeper_stats", "count=0,bytes=0");
        create("/q/b", "abc");
        setData("/q/b", "abcdef", 1);
        delete("/q/a");
        create("/zookeeper/quota/q/b", null);
        create("/zookeeper/quota/q/b/zookeeper_limits", "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=3");
        create("/zookeeper/quota/q/b/zookeeper_stats", "");
        create("/q/b/c", "1");
        create("/qq", "outside");
        delete("/zookeeper/quota/q/b/zookeeper_limits");
        create("/q/b/d", "2");
                setData("/zookeeper/quota/q/zookeeper_stats", "count=99,bytes=99", 1);
        create("/q/e", "e");
        reload();
        create("/q/f", "f");

    }

    public static void main(String[] args) {
        new ApplyGolden().run();
    }
}
