//! Records of `org.apache.zookeeper.data`: identities, ACLs and stats.

use crate::jute_record;

jute_record! {
    /// An identity: `scheme:id`, e.g. `world:anyone`, `digest:user:hash`, `ip:10.0.0.0/8`.
    pub struct Id {
        pub scheme: String,
        pub id: String,
    }

    /// One ACL entry: a permission mask granted to an identity.
    pub struct Acl {
        pub perms: i32,
        pub id: Id,
    }

    /// A znode's stat as clients see it (68 bytes).
    pub struct Stat {
        pub czxid: i64,
        pub mzxid: i64,
        pub ctime: i64,
        pub mtime: i64,
        pub version: i32,
        pub cversion: i32,
        pub aversion: i32,
        pub ephemeral_owner: i64,
        pub data_length: i32,
        pub num_children: i32,
        pub pzxid: i64,
    }

    /// A znode's stat as snapshots store it (no computed fields; cversion counts creates only).
    pub struct StatPersisted {
        pub czxid: i64,
        pub mzxid: i64,
        pub ctime: i64,
        pub mtime: i64,
        pub version: i32,
        pub cversion: i32,
        pub aversion: i32,
        pub ephemeral_owner: i64,
        pub pzxid: i64,
    }

    /// One authenticated identity of a session, as whoAmI reports it.
    pub struct ClientInfo {
        pub auth_scheme: String,
        pub user: String,
    }
}

impl Id {
    pub fn new(scheme: impl Into<String>, id: impl Into<String>) -> Self {
        Id { scheme: scheme.into(), id: id.into() }
    }
}

impl Acl {
    pub fn new(perms: i32, scheme: impl Into<String>, id: impl Into<String>) -> Self {
        Acl { perms, id: Id::new(scheme, id) }
    }
}
