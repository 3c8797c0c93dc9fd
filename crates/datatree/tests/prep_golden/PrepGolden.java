// Golden scenarios for prep: each request is run through the real PrepRequestProcessor of the
// ZooKeeper 3.8.0 jar, and the txn header and txn it produced are recorded. Nothing is applied
// until the script says `apply` (then ZooKeeperServer.processTxn applies the queue and drops
// the outstanding changes, as FinalRequestProcessor does), so requests prepared in between see
// each other only through the outstanding changes: the pipelined case.
//
// Regenerate (Debian's zookeeper 3.8.0 package installed):
//   CP=/usr/share/java/zookeeper.jar:/usr/share/java/zookeeper-jute.jar:/usr/share/java/slf4j-api.jar:/usr/share/java/slf4j-nop.jar:/usr/share/java/metrics-core.jar:/usr/share/java/snappy-java.jar:/usr/share/java/commons-io.jar
//   javac -cp $CP -d /tmp/golden PrepGolden.java && java -cp $CP:/tmp/golden org.apache.zookeeper.server.PrepGolden > prep.txt
//
// Script lines (tab separated):
//   quota <true|false>         zookeeper.enforceQuota (for the whole script)
//   # <scenario name>
//   reset                      a fresh server (tree of a new server, no sessions, nothing pending)
//   extended <true|false>      zookeeper.extendedTypesEnabled from now on
//   session <hex id>           the session tracker knows this session
//   prep <hex session> <cxid> <ids: scheme=id;... or -> <opcode> <hex request body>
//                              (opcode "20c": a deleteContainer from a client, body = whole packet)
//   expect <hex TxnHeader> <hex txn record>     (what Java prepared for the line above)
//   apply                      apply every prepared txn in order
// A deleteContainer body is the raw UTF-8 path (what Java's ContainerManager submits).

package org.apache.zookeeper.server;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.*;
import org.apache.jute.BinaryOutputArchive;
import org.apache.jute.Record;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.MultiOperationRecord;
import org.apache.zookeeper.ZooDefs.Ids;
import org.apache.zookeeper.ZooDefs.OpCode;
import org.apache.zookeeper.ZooDefs.Perms;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.proto.*;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;

public class PrepGolden {
    static final long A = 0x0100000000000001L;
    static final long B = 0x0100000000000002L;
    static final long C = 0x0100000000000003L;
    static final long UNKNOWN = 0x01000000000000ffL;

    static Id ip = new Id("ip", "127.0.0.1");
    static Id alice;
    static Id sup = new Id("super", "");

    ZooKeeperServer zks;
    PrepRequestProcessor prep;
    List<Request> queue = new ArrayList<>();
    Request last;
    int cxid;
    boolean clientPacket;
    long session = A;
    List<Id> ids = Arrays.asList(ip);

    static String hex(byte[] bytes) {
        StringBuilder sb = new StringBuilder();
        for (byte b : bytes) {
            sb.append(String.format("%02x", b & 0xff));
        }
        return sb.length() == 0 ? "-" : sb.toString();
    }

    static byte[] bytes(Record record) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        record.serialize(BinaryOutputArchive.getArchive(out), "r");
        return out.toByteArray();
    }

    void reset(String name) throws Exception {
        if (zks != null) {
            zks.getZKDatabase().close();
        }
        File dir = Files.createTempDirectory("prepgolden").toFile();
        zks = new ZooKeeperServer(dir, dir, 3000);
        zks.startdata();
        zks.createSessionTracker();
        prep = new PrepRequestProcessor(zks, new RequestProcessor() {
            public void processRequest(Request request) {
                last = request;
            }
            public void shutdown() {
            }
        });
        queue.clear();
        cxid = 0;
        session = A;
        ids = Arrays.asList(ip);
        System.out.println("# " + name);
        System.out.println("reset");
        extended(true);
        session(A);
        session(B);
        session(C);
    }

    void extended(boolean on) {
        System.setProperty("zookeeper.extendedTypesEnabled", Boolean.toString(on));
        System.out.println("extended\t" + on);
    }

    void session(long id) {
        ((SessionTrackerImpl) zks.sessionTracker).trackSession(id, 30000);
        System.out.println("session\t" + Long.toHexString(id));
    }

    void as(long session, Id... ids) {
        this.session = session;
        this.ids = Arrays.asList(ids);
    }

    void raw(int opcode, byte[] body) throws Exception {
        cxid++;
        Request request = new Request(null, session, cxid, opcode, ByteBuffer.wrap(body), ids);
        last = null;
        prep.pRequest(request);
        StringJoiner idText = new StringJoiner(";");
        for (Id id : ids) {
            idText.add(id.getScheme() + "=" + id.getId());
        }
        System.out.println("prep\t" + Long.toHexString(session) + "\t" + cxid + "\t"
            + (ids.isEmpty() ? "-" : idText.toString()) + "\t" + opcode + (clientPacket ? "c" : "") + "\t"
            + hex(body));
        if (request.getHdr() == null) {
            System.out.println("expect\tnone");
        } else {
            System.out.println("expect\t" + hex(bytes(request.getHdr())) + "\t"
                + (request.getTxn() == null ? "-" : hex(bytes(request.getTxn()))));
        }
        queue.add(request);
    }

    void request(int opcode, Record record) throws Exception {
        raw(opcode, bytes(record));
    }

    void apply() {
        for (Request request : queue) {
            zks.processTxn(request);
        }
        queue.clear();
        System.out.println("apply");
    }

    // ---- request builders ----

    static List<ACL> open() {
        return Ids.OPEN_ACL_UNSAFE;
    }

    static List<ACL> only(Id id, int perms) {
        return Arrays.asList(new ACL(perms, id));
    }

    static byte[] data(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    void create(String path, int flags) throws Exception {
        request(OpCode.create, new CreateRequest(path, data("x"), open(), flags));
    }

    void create(String path, int flags, List<ACL> acl) throws Exception {
        request(OpCode.create, new CreateRequest(path, data("x"), acl, flags));
    }

    void create2(String path, int flags) throws Exception {
        request(OpCode.create2, new CreateRequest(path, data("x"), open(), flags));
    }

    void createContainer(String path, int flags) throws Exception {
        request(OpCode.createContainer, new CreateRequest(path, data("x"), open(), flags));
    }

    void createTtl(String path, int flags, long ttl) throws Exception {
        request(OpCode.createTTL, new CreateTTLRequest(path, data("x"), open(), flags, ttl));
    }

    void delete(String path, int version) throws Exception {
        request(OpCode.delete, new DeleteRequest(path, version));
    }

    void deleteContainer(String path) throws Exception {
        raw(OpCode.deleteContainer, path.getBytes(StandardCharsets.UTF_8));
    }

    void setData(String path, String text, int version) throws Exception {
        request(OpCode.setData, new SetDataRequest(path, data(text), version));
    }

    void setAcl(String path, List<ACL> acl, int version) throws Exception {
        request(OpCode.setACL, new SetACLRequest(path, acl, version));
    }

    void check(String path, int version) throws Exception {
        request(OpCode.check, new CheckVersionRequest(path, version));
    }

    void closeSession() throws Exception {
        raw(OpCode.closeSession, new byte[0]);
    }

    void multi(Op... ops) throws Exception {
        request(OpCode.multi, new MultiOperationRecord(Arrays.asList(ops)));
    }

    /** A multi with raw op headers: {opcode, record} pairs, as any client may send them. */
    void rawMulti(Object... opsAndRecords) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryOutputArchive archive = BinaryOutputArchive.getArchive(out);
        for (int i = 0; i < opsAndRecords.length; i += 2) {
            new MultiHeader((Integer) opsAndRecords[i], false, -1).serialize(archive, "h");
            ((Record) opsAndRecords[i + 1]).serialize(archive, "r");
        }
        new MultiHeader(-1, true, -1).serialize(archive, "h");
        raw(OpCode.multi, out.toByteArray());
    }

    static CreateRequest cr(String path, int flags) {
        return new CreateRequest(path, data("x"), open(), flags);
    }

    static CreateTTLRequest crTtl(String path, int flags, long ttl) {
        return new CreateTTLRequest(path, data("x"), open(), flags, ttl);
    }

    // ---- scenarios ----

    void createErrorOrder() throws Exception {
        reset("create: which error wins");
        create("/p", 0);
        create("/eph", 1);
        create("/restricted", 0, only(alice, Perms.ALL));
        create("/reader", 0, only(new Id("world", "anyone"), Perms.READ));
        apply();
        // 1. flags before everything
        create("/missing/x", 7);
        create("nope", -1);
        // 2-3. TTL checks before session, path, ACL, parent
        createTtl("/missing/x", 5, 0);
        createTtl("/missing/x", 5, 1L << 40);
        createTtl("/missing/x", 0, 5);
        createTtl("/missing/x", 0, 0);
        create("/missing/x", 5);
        extended(false);
        createTtl("nope", 5, 0);
        create("nope", 6);
        extended(true);
        // 4. session before path: unknown session, ephemeral or not
        as(UNKNOWN, ip);
        create("nope", 1);
        create("nope", 0);
        create("nope", 3, Collections.emptyList());
        as(A, ip);
        // 5. path syntax (a slash, no NUL) before the ACL list
        create("nope", 0, Collections.emptyList());
        create("/p/\u0000x", 0, Collections.emptyList());
        // 6. ACL list before the parent
        create("/missing/x", 0, Collections.emptyList());
        create("/missing/x", 0, only(new Id("auth", ""), Perms.ALL));
        create("/missing/x", 0, only(new Id("world", "someone"), Perms.ALL));
        // 7. parent before the full path check
        create("/missing/\u0001", 0);
        create("/missing/", 0);
        create("/missing//x", 0);
        // 8. CREATE permission before the full path check
        create("/restricted/\u0001", 0);
        create("/reader/x", 0);
        // 10. full path check (sequence suffix appended first)
        create("/p/", 0);
        create("/p/./x", 0);
        create("/p/.", 0);
        create("/p/.", 2);
        create("/p/", 2);
        create("/p/\uffff", 0);
        // 11. exists before ephemeral parent
        create("/p", 0);
        create("/", 0);
        create("/eph/x", 0);
        create("/eph/\u0001", 0);
        create("/eph/", 2);
        // root children: the parent is ""
        create("/", 2);
        create("/zookeeper/mine", 0);
        apply();
        // super and the digest owner pass the CREATE check
        as(A, ip, sup);
        create("/restricted/bysuper", 0);
        as(A, ip, alice);
        create("/restricted/byalice", 0);
        create("/restricted/authacl", 0, only(new Id("auth", ""), Perms.READ));
        as(A, ip);
        apply();
    }

    void sequentialNaming() throws Exception {
        reset("sequential names come from the parent's stored cversion");
        create("/q", 0);
        create("/q/n-", 2);
        create("/q/n-", 2);
        create("/q/n-", 3);
        apply();
        delete("/q/n-0000000001", -1);
        create("/q/n-", 2);
        create("/q/plain", 0);
        create("/q/n-", 2);
        delete("/q/plain", -1);
        create("/q/n-", 2);
        apply();
        create("/q/", 2);
        create("/q/n-", 2);
        // a failed create does not consume a number
        create("/q/n-", 2, Collections.emptyList());
        create("/q/n-", 2);
        apply();
    }

    void pipelining() throws Exception {
        reset("pipelined requests see each other");
        create("/dup", 0);
        create("/dup", 0);
        create("/dup/child", 0);
        delete("/dup", -1);
        delete("/dup/child", 0);
        delete("/dup", 0);
        create("/dup", 0);
        delete("/dup", 0);
        delete("/dup", 0);
        apply();
        create("/v", 0);
        setData("/v", "1", 0);
        setData("/v", "2", 0);
        setData("/v", "3", 1);
        setData("/v", "4", -1);
        apply();
        setData("/v", "5", 3);
        apply();
    }

    void rootKeys() throws Exception {
        reset("the root is \"\" as a parent, \"/\" as a node");
        setData("/", "root", -1);
        create("/a", 0);
        setData("/", "root2", 1);
        create("/b-", 2);
        as(A, ip, alice);
        setAcl("/", only(alice, Perms.ALL), -1);
        as(A, ip);
        create("/c", 0);
        setData("/", "root3", -1);
        apply();
        create("/d", 0);
        delete("/a", -1);
        apply();
    }

    void setAclQuirk() throws Exception {
        reset("a pending setACL keeps the old ACL for later requests");
        create("/open", 0);
        apply();
        as(A, ip, alice);
        setAcl("/open", only(alice, Perms.ALL), 0);
        as(B, ip);
        setData("/open", "still allowed", -1);
        setAcl("/open", open(), 1);
        apply();
        setData("/open", "now refused", -1);
        as(A, ip, alice);
        setAcl("/open", open(), 0);
        setAcl("/open", open(), 1);
        apply();
    }

    void setDataSetAclCheck() throws Exception {
        reset("setData, setACL, check");
        create("/n", 0, only(alice, Perms.READ | Perms.ADMIN));
        create("/w", 0, only(alice, Perms.WRITE));
        apply();
        setData("n", "x", -1);
        setData("/missing", "x", -1);
        setData("/n", "x", -1);
        setData("/zookeeper/config", "x", -1);
        as(UNKNOWN, ip);
        setData("n", "x", -1);
        as(A, ip, alice);
        setData("/w", "x", 3);
        setData("/w", "x", 0);
        // setACL: path, ACL list, node, ADMIN, aversion
        setAcl("bad", Collections.emptyList(), -1);
        setAcl("/missing", Collections.emptyList(), -1);
        setAcl("/missing", open(), -1);
        setAcl("/w", open(), -1);
        setAcl("/n", open(), 5);
        setAcl("/n", only(new Id("auth", ""), Perms.ALL), 0);
        setAcl("/zookeeper/config", open(), -1);
        as(A, ip);
        // check: path, node, READ, version; the txn carries version + 1
        check("bad", 0);
        check("/missing", 0);
        check("/w", 0);
        check("/n", 0);
        as(A, ip, alice);
        check("/n", 0);
        check("/n", 7);
        check("/n", -1);
        setData("/n", "x", -1);
        check("/n", 0);
        as(A, ip, new Id("world", "anyone"));
        check("/n", 0);
        apply();
    }

    void deletes() throws Exception {
        reset("delete");
        create("/d", 0);
        create("/d/c", 0);
        create("/locked", 0, only(alice, Perms.READ | Perms.CREATE));
        apply();
        create("/locked/c", 0, open());
        as(A, ip, alice);
        create("/locked/c2", 0, open());
        as(A, ip);
        apply();
        delete("/", -1);
        delete("/zookeeper", -1);
        delete("/zookeeper/quota", -1);
        delete("/zookeeper/config", -1);
        delete("", -1);
        delete("nope", -1);
        delete("/d/\u0000", -1);
        delete("/d/", -1);
        delete("/d/c/", -1);
        delete("/x/y", -1);
        delete("/locked/missing", -1);
        delete("/locked/c", -1);
        delete("/d", 5);
        delete("/d", 0);
        delete("/d/c", 1);
        delete("/d/.", -1);
        as(UNKNOWN, ip);
        delete("nope", -1);
        as(A, ip);
        delete("/d/c", 0);
        delete("/d", 0);
        apply();
    }

    void containersAndTtl() throws Exception {
        reset("containers, TTL nodes and deleteContainer");
        createContainer("/c", 4);
        create("/c/child", 0);
        createTtl("/t", 5, 1000);
        createTtl("/t/", 6, (1L << 40) - 1);
        create("/e", 1);
        create("/plain", 0);
        apply();
        create("/t/child", 0);
        create("/t/eph", 1);
        createTtl("/c/ttl", 5, 10);
        deleteContainer("/c");
        deleteContainer("/e");
        deleteContainer("/plain");
        deleteContainer("/missing");
        deleteContainer("/");
        deleteContainer("/zookeeper");
        delete("/c/child", -1);
        deleteContainer("/c");
        apply();
        extended(false);
        deleteContainer("/t/child");
        deleteContainer("/t");
        create("/t/more", 0);
        createTtl("/x", 5, 100);
        extended(true);
        // the opcode decides the txn, the flags the pending node
        createContainer("/cc-flag0", 0);
        create("/c-flag4", 4);
        create2("/c2-flag4", 4);
        createContainer("/ce", 1);
        create("/ce/child", 0);
        create2("/c2", 2);
        apply();
        create("/ce/child", 0);
        // createTTL with a non-TTL mode and a negative ttl passes prep (not applied here)
        createTtl("/tneg", 0, -1);
        createTtl("/tneg1", 1, -5);
    }

    void closeSessions() throws Exception {
        reset("closeSession deletes the ephemerals the pending changes leave");
        as(C, ip);
        create("/e1", 1);
        create("/e2", 1);
        create("/p", 0);
        apply();
        create("/e3", 1);
        delete("/e1", -1);
        create("/e4", 1);
        delete("/e4", -1);
        setData("/e2", "x", -1);
        closeSession();
        create("/after", 0);
        create("/after", 1);
        create("/e1", 0);
        apply();
        create("/after", 0);
        create("/after", 1);
        as(A, ip);
        closeSession();
        apply();
    }

    void multis() throws Exception {
        reset("multi");
        create("/m", 0);
        apply();
        multi(Op.create("/m/a", data("a"), open(), 0), Op.create("/m/s-", data("s"), open(), 2),
            Op.setData("/m/a", data("b"), 0), Op.check("/m/a", 1), Op.delete("/m/a", 1),
            Op.create("/m/a", data("c"), open(), 1));
        multi();
        // failure: earlier ops keep their txns, the failing op its code, later ops -2
        multi(Op.create("/m/x", data("x"), open(), 0), Op.create("/m/x/y", data("y"), open(), 0),
            Op.check("/m/missing", 0), Op.create("/m/z", data("z"), open(), 0), Op.delete("/m", -1));
        // the failed multi's changes are rolled back: these succeed, numbering included
        create("/m/x", 0);
        multi(Op.create("/m/s-", data("s"), open(), 2), Op.setData("/m", data("m"), 99));
        create("/m/s-", 2);
        multi(Op.delete("/m/x", -1), Op.create("/m/x", data("x"), open(), 0), Op.delete("/m/x", 0),
            Op.check("/m/x", -1));
        multi(Op.delete("/m/x", -1), Op.create("/m/x", data("x"), open(), 0));
        apply();
        // the op type comes from the flags
        rawMulti(OpCode.create2, cr("/m/c2", 0), OpCode.createContainer, cr("/m/cc", 0),
            OpCode.create, cr("/m/c4", 4), OpCode.create2, cr("/m/c24", 4),
            OpCode.createTTL, crTtl("/m/tt0", 0, 100), OpCode.createTTL, crTtl("/m/tt1", 1, -1),
            OpCode.createTTL, crTtl("/m/tt5", 5, 100), OpCode.create, cr("/m/bad", 9));
        rawMulti(OpCode.create2, cr("/m/c2", 0), OpCode.createTTL, crTtl("/m/tt0", 0, 100));
        // a CreateRequest typed createTTL by its flags: ClassCastException, MarshallingError
        rawMulti(OpCode.create, cr("/m/before", 0), OpCode.create, cr("/m/ttl", 5));
        // (Java leaves that multi's records pending until its error txn is applied, so a create
        // of /m/before prepared now would get NodeExists there; ferrokeeper rolls them back.)
        apply();
        create("/m/before", 0);
        rawMulti(OpCode.createContainer, cr("/m/cttl", 6));
        extended(false);
        rawMulti(OpCode.createTTL, crTtl("/m/t", 5, 100));
        rawMulti(OpCode.create, cr("/m/t2", 5));
        extended(true);
        // session checks per op
        as(UNKNOWN, ip);
        multi(Op.check("/m", -1));
        multi(Op.create("/m/e", data("e"), open(), 1));
        multi();
        as(A, ip);
        // ACL fixup and permissions inside a multi
        multi(Op.create("/m/acl", data("x"), Collections.emptyList(), 0));
        multi(Op.create("/m/acl", data("x"), only(new Id("auth", ""), Perms.ALL), 0));
        apply();
    }

    void clientDeleteContainer(String path) throws Exception {
        // As a client connection hands it over: the request buffer holds the header too.
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new RequestHeader(cxid + 1, OpCode.deleteContainer).serialize(BinaryOutputArchive.getArchive(out), "h");
        out.write(path.getBytes(StandardCharsets.UTF_8));
        clientPacket = true;
        raw(OpCode.deleteContainer, out.toByteArray());
        clientPacket = false;
    }

    void undecodable() throws Exception {
        reset("undecodable writes and a client's deleteContainer");
        create("/p", 0);
        apply();
        for (int opcode : new int[] {OpCode.create, OpCode.create2, OpCode.createContainer, OpCode.createTTL,
            OpCode.delete, OpCode.setData, OpCode.setACL, OpCode.check, OpCode.multi}) {
            raw(opcode, new byte[3]);
        }
        // a multi mixing reads and writes, only reads, an unknown op
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryOutputArchive archive = BinaryOutputArchive.getArchive(out);
        new MultiHeader(OpCode.getData, false, -1).serialize(archive, "h");
        new GetDataRequest("/p", false).serialize(archive, "r");
        new MultiHeader(OpCode.create, false, -1).serialize(archive, "h");
        cr("/p/x", 0).serialize(archive, "r");
        new MultiHeader(-1, true, -1).serialize(archive, "h");
        raw(OpCode.multi, out.toByteArray());
        out = new ByteArrayOutputStream();
        archive = BinaryOutputArchive.getArchive(out);
        new MultiHeader(OpCode.getData, false, -1).serialize(archive, "h");
        new GetDataRequest("/p", false).serialize(archive, "r");
        new MultiHeader(-1, true, -1).serialize(archive, "h");
        raw(OpCode.multi, out.toByteArray());
        out = new ByteArrayOutputStream();
        archive = BinaryOutputArchive.getArchive(out);
        new MultiHeader(OpCode.setACL, false, -1).serialize(archive, "h");
        new SetACLRequest("/p", open(), -1).serialize(archive, "r");
        new MultiHeader(-1, true, -1).serialize(archive, "h");
        raw(OpCode.multi, out.toByteArray());
        clientDeleteContainer("/p");
        create("/p/after", 0);
        apply();
    }

    void quotas() throws Exception {
        reset("quota hard limits (zookeeper.enforceQuota=true)");
        create("/qq", 0);
        create("/soft", 0);
        create("/zookeeper/quota/qq", 0);
        request(OpCode.create, new CreateRequest("/zookeeper/quota/qq/zookeeper_limits",
            data("count=-1,bytes=-1=;byteHardLimit=12;countHardLimit=3"), open(), 0));
        request(OpCode.create, new CreateRequest("/zookeeper/quota/qq/zookeeper_stats",
            data("count=0,bytes=0"), open(), 0));
        create("/zookeeper/quota/soft", 0);
        request(OpCode.create, new CreateRequest("/zookeeper/quota/soft/zookeeper_limits",
            data("count=1,bytes=1"), open(), 0));
        request(OpCode.create, new CreateRequest("/zookeeper/quota/soft/zookeeper_stats",
            data("count=0,bytes=0"), open(), 0));
        apply();
        // pipelined creates are checked against the applied usage only
        create("/qq/a", 0);
        create("/qq/b", 0);
        create("/qq/c", 0);
        apply();
        create("/qq/d", 0);
        create("/qq/a/deeper", 0);
        // soft limits are only logged
        create("/soft/a", 0);
        create("/soft/b", 0);
        setData("/soft", "much more than one byte", -1);
        // bytes: the difference to the current data counts
        setData("/qq", "0123456789", -1);
        setData("/qq/a", "x", -1);
        setData("/qq/a", "", 99);
        setData("/qq/b", "0123456789abcdef", 99);
        // quota before version, ephemeral parent before quota
        delete("/qq/c", -1);
        apply();
        create("/qq/c", 0);
        create("/qq/c", 0);
        setData("/qq", "0123456789", -1);
        apply();
    }

    public static void main(String[] args) throws Exception {
        // ZooKeeperServer reads this once, when the class is loaded.
        System.setProperty("zookeeper.enforceQuota", "true");
        System.out.println("quota\ttrue");
        alice = new Id("digest", DigestAuthenticationProvider.generateDigest("alice:pw"));
        PrepGolden golden = new PrepGolden();
        golden.createErrorOrder();
        golden.sequentialNaming();
        golden.pipelining();
        golden.rootKeys();
        golden.setAclQuirk();
        golden.setDataSetAclCheck();
        golden.deletes();
        golden.containersAndTtl();
        golden.closeSessions();
        golden.multis();
        golden.quotas();
        golden.undecodable();
        System.exit(0);
    }
}
