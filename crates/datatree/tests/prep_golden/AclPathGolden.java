// Golden vectors for path validation and the auth providers, from the real ZooKeeper jar.
//
// Regenerate (Debian's zookeeper 3.8.0 package installed):
//   CP=/usr/share/java/zookeeper.jar:/usr/share/java/zookeeper-jute.jar:/usr/share/java/slf4j-api.jar:/usr/share/java/slf4j-nop.jar
//   javac -cp $CP -d /tmp/golden AclPathGolden.java && java -cp $CP:/tmp/golden AclPathGolden > acl_path.txt
//
// Line formats (tab separated; <hex> is the UTF-8 of a string, "-" for the empty string):
//   path <hex> ok | path <hex> err <message, with `Invalid path string "<path>" caused by ` cut>
//   digest <hex input> <generateDigest output>
//   ipvalid <id> <bool>         ipmatch <caller> <acl> <bool>
//   digestvalid <id> <bool>
//   fixup <caller ids> <acl> <fixed acl | InvalidACL>   (ids: scheme=id;...  acl: perms,scheme,id;...)
//   order <ids in insertion order> <ids as the connection's set iterates them>

import java.nio.charset.StandardCharsets;
import java.util.*;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.common.PathUtils;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.server.PrepRequestProcessor;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;
import org.apache.zookeeper.server.auth.IPAuthenticationProvider;

public class AclPathGolden {
    static String hex(String s) {
        if (s.isEmpty()) {
            return "-";
        }
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            sb.append(String.format("%02x", b & 0xff));
        }
        return sb.toString();
    }

    static void path(String p) {
        try {
            PathUtils.validatePath(p);
            System.out.println("path\t" + hex(p) + "\tok");
        } catch (IllegalArgumentException e) {
            String msg = e.getMessage();
            String prefix = "Invalid path string \"" + p + "\" caused by ";
            if (msg.startsWith(prefix)) {
                msg = "invalid:" + msg.substring(prefix.length());
            }
            System.out.println("path\t" + hex(p) + "\terr\t" + msg);
        }
    }

    static String ids(List<Id> ids) {
        StringJoiner j = new StringJoiner(";");
        for (Id id : ids) {
            j.add(id.getScheme() + "=" + id.getId());
        }
        return ids.isEmpty() ? "-" : j.toString();
    }

    static String acls(List<ACL> acl) {
        StringJoiner j = new StringJoiner(";");
        for (ACL a : acl) {
            j.add(a.getPerms() + "," + a.getId().getScheme() + "," + a.getId().getId());
        }
        return acl.isEmpty() ? "-" : j.toString();
    }

    static void fixup(List<Id> auth, List<ACL> acl) {
        String result;
        try {
            result = acls(PrepRequestProcessor.fixupACL("/p", auth, acl));
        } catch (KeeperException.InvalidACLException e) {
            result = "InvalidACL";
        }
        System.out.println("fixup\t" + ids(auth) + "\t" + acls(acl) + "\t" + result);
    }

    static ACL acl(int perms, String scheme, String id) {
        return new ACL(perms, new Id(scheme, id));
    }

    public static void main(String[] args) throws Exception {
        String[] curated = {
            "", "a", "/", "//", "/a", "/a/", "/a//b", "/a//", "/.", "/..", "/...", "/.a", "/a.", "/..a", "/a..",
            "/a/./b", "/a/../b", "/a/.", "/a/..", "/./a", "/a\u0000b", "/\u0000/", "/\u0001", "/\u001f", "/\u0020",
            "/\u007f", "/\u009f", "/\u00a0", "/\ud7ff", "/\ue000", "/\uf8ff", "/\uf900", "/\uffef", "/\ufff0",
            "/\ufffd", "/\uffff", "/\ud83d\ude00", "/ab\ud83d\ude00", "/\u20ac\ue000", "/\u0001//x", "/é/ü",
            "/zookeeper", "/a/b/c", "/a b", "/\u2028", "/-", "/1", "/a/.1", "/a/..1",
        };
        for (String p : curated) {
            path(p);
        }
        String[] alphabet = {
            "/", "/", "/", ".", ".", "a", "b", "\u0000", "\u0001", "\u001f", " ", "\u007f", "\u009f", "\u00a0", "é",
            "\ud7ff", "\ue000", "\uf8ff", "\uf900", "\uffef", "\ufff0", "\ufffd", "\uffff", "\ud83d\ude00", "\u2028",
        };
        Random random = new Random(20240601L);
        for (int i = 0; i < 3000; i++) {
            StringBuilder sb = new StringBuilder();
            if (random.nextInt(10) != 0) {
                sb.append('/');
            }
            int length = random.nextInt(9);
            for (int k = 0; k < length; k++) {
                sb.append(alphabet[random.nextInt(alphabet.length)]);
            }
            path(sb.toString());
        }

        for (String s : new String[] {"super:test", "user:password", "nocolon", ":", "a:b:c", "", "üser:pässword", "u:"}) {
            System.out.println("digest\t" + hex(s) + "\t" + DigestAuthenticationProvider.generateDigest(s));
        }

        IPAuthenticationProvider ip = new IPAuthenticationProvider();
        String[] ipIds = {
            "10.0.0.1", "10.0.0.1/8", "10.0.0.0/0", "10.0.0.1/32", "10.0.0.1/33", "10.0.0.1/-1", "10.0.0.1/+8", "10.0.0.1/-0",
            "10.0.0.1/", "10.0.0", "10.0.0.1.", "256.0.0.1", "+10.0.0.1", "-0.0.0.0", "010.000.000.001", " 10.0.0.1",
            "::1", "0:0:0:0:0:0:0:1", "fe80::1/64", "", "10.0.0.1/8/9", "1.2.3.4/08", "10.0.0.1/2147483648",
            "128.0.0.0/1", "192.168.1.0/24", "192.168.1.128/25", "127.0.0.1/31",
        };
        for (String id : ipIds) {
            System.out.println("ipvalid\t" + id + "\t" + ip.isValid(id));
        }
        String[] callers = {"10.0.0.1", "10.255.1.2", "11.0.0.1", "127.0.0.1", "127.0.0.0", "200.1.1.1", "192.168.1.7",
            "192.168.1.200", "192.168.2.7", "0:0:0:0:0:0:0:1", "::1", "garbage"};
        for (String caller : callers) {
            for (String acl : ipIds) {
                System.out.println("ipmatch\t" + caller + "\t" + acl + "\t" + ip.matches(caller, acl));
            }
        }

        DigestAuthenticationProvider digest = new DigestAuthenticationProvider();
        for (String id : new String[] {"u:h", "u:h:", "u:", "u", "a:b:c", ":h", "", "::", ":", "u::", "a:b::", "::a"}) {
            System.out.println("digestvalid\t" + id + "\t" + digest.isValid(id));
        }

        Id ipId = new Id("ip", "127.0.0.1");
        Id alice = new Id("digest", DigestAuthenticationProvider.generateDigest("alice:pw"));
        Id bob = new Id("digest", DigestAuthenticationProvider.generateDigest("bob:pw"));
        Id sup = new Id("super", "");
        List<List<Id>> auths = Arrays.asList(
            Arrays.asList(ipId), Arrays.asList(ipId, alice), Arrays.asList(alice, ipId, bob), Arrays.asList(sup, alice),
            Arrays.asList(sup), Collections.emptyList());
        List<List<ACL>> acls = Arrays.asList(
            Collections.emptyList(),
            Arrays.asList(acl(31, "world", "anyone")),
            Arrays.asList(acl(31, "world", "anyone"), acl(31, "world", "anyone")),
            Arrays.asList(acl(1, "world", "anyone"), acl(31, "world", "anyone"), acl(1, "world", "anyone")),
            Arrays.asList(acl(31, "world", "someone")),
            Arrays.asList(acl(31, "auth", "")),
            Arrays.asList(acl(5, "auth", "whatever"), acl(31, "world", "anyone")),
            Arrays.asList(acl(31, "auth", ""), acl(1, "auth", "")),
            Arrays.asList(acl(31, "auth", ""), acl(31, "auth", "")),
            Arrays.asList(acl(31, "digest", "u:h")),
            Arrays.asList(acl(31, "digest", "u")),
            Arrays.asList(acl(31, "ip", "10.0.0.0/8")),
            Arrays.asList(acl(31, "ip", "::1")),
            Arrays.asList(acl(31, "ip", "10.0.0.0/40")),
            Arrays.asList(acl(31, "super", "")),
            Arrays.asList(acl(31, "sasl", "alice")),
            Arrays.asList(acl(31, "x509", "CN=a")),
            Arrays.asList(acl(0, "world", "anyone")),
            Arrays.asList(acl(31, "digest", alice.getId()), acl(31, "auth", "")));
        for (List<Id> auth : auths) {
            for (List<ACL> list : acls) {
                fixup(auth, list);
            }
        }

        List<Id> pool = new ArrayList<>();
        pool.add(ipId);
        pool.add(new Id("ip", "10.1.2.3"));
        pool.add(new Id("ip", "0:0:0:0:0:0:0:1"));
        pool.add(sup);
        for (String user : new String[] {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan"}) {
            pool.add(new Id("digest", DigestAuthenticationProvider.generateDigest(user + ":secret")));
        }
        for (int i = 0; i < 200; i++) {
            List<Id> shuffled = new ArrayList<>(pool);
            Collections.shuffle(shuffled, random);
            List<Id> inserted = shuffled.subList(0, 1 + random.nextInt(11));
            Set<Id> set = Collections.newSetFromMap(new ConcurrentHashMap<Id, Boolean>());
            set.addAll(inserted);
            System.out.println("order\t" + ids(inserted) + "\t" + ids(new ArrayList<>(set)));
        }
    }
}
