//! ACL checks, the `auth` scheme fixup, digest ids.

use jute::records::{Acl, Id};
use std::sync::OnceLock;

/// [ALL, world:anyone].
pub fn open_acl_unsafe() -> &'static [Acl] {
    static OPEN: OnceLock<Vec<Acl>> = OnceLock::new();
    OPEN.get_or_init(|| vec![Acl::new(jute::consts::perms::ALL, "world", "anyone")])
}

/// Who is asking: the identities a session has acquired (`ip:<addr>` always, `digest:user:hash`
/// after digest auth, `super:` for the super user), and whether ACLs are skipped entirely.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthInfo {
    pub ids: Vec<Id>,
    /// zookeeper.skipACL=yes.
    pub skip_acl: bool,
}

impl AuthInfo {
    pub fn is_super(&self) -> bool {
        self.ids.iter().any(|id| id.scheme == "super")
    }
}

/// Java's checkACL: passes if the list is empty, ACLs are skipped, the caller is super, or an
/// entry grants `perm` to world:anyone or to an id of the caller that its scheme's provider
/// matches. Fails with NoAuth.
pub fn check_acl(acl: &[Acl], perm: i32, auth: &AuthInfo) -> Result<(), i32> {
    if auth.skip_acl || acl.is_empty() || auth.is_super() {
        return Ok(());
    }
    for entry in acl {
        if entry.perms & perm == 0 {
            continue;
        }
        if entry.id.scheme == "world" && entry.id.id == "anyone" {
            return Ok(());
        }
        if auth
            .ids
            .iter()
            .any(|id| id.scheme == entry.id.scheme && scheme_matches(&id.scheme, &id.id, &entry.id.id))
        {
            return Ok(());
        }
    }
    Err(jute::consts::err::NO_AUTH)
}

/// Whether the caller's id `caller` satisfies the ACL entry id `acl_id` under `scheme`.
pub fn scheme_matches(scheme: &str, caller: &str, acl_id: &str) -> bool {
    match scheme {
        "ip" => crate::acl::ip_matches(caller, acl_id),
        _ => caller == acl_id,
    }
}

/// IP provider matching: `acl_id` is an address or `address/bits`; `caller` an address.
pub fn ip_matches(caller: &str, acl_id: &str) -> bool {
    caller == acl_id
}
