//! ACL checks, the `auth` scheme fixup, digest ids.

use jute::records::Acl;
use std::sync::OnceLock;

/// [ALL, world:anyone].
pub fn open_acl_unsafe() -> &'static [Acl] {
    static OPEN: OnceLock<Vec<Acl>> = OnceLock::new();
    OPEN.get_or_init(|| vec![Acl::new(jute::consts::perms::ALL, "world", "anyone")])
}
