//! ACL checks, the authentication providers (world, digest, ip, super), the `auth` scheme fixup.
//!
//! Java registers two providers by default, `ip` and `digest` (ProviderRegistry); `world:anyone`
//! and the `super` id are special-cased where they are used, and `auth` exists only on the ACL
//! side of a create / setACL. A scheme without a provider never matches, cannot be used in an
//! ACL, and cannot be authenticated with.

use base64::Engine as _;
use jute::consts::err;
use jute::records::{Acl, ClientInfo, Id};
use sha1::{Digest as _, Sha1};
use std::sync::{Arc, OnceLock};

/// [ALL, world:anyone].
pub fn open_acl_unsafe() -> &'static [Acl] {
    &OPEN_ACL_UNSAFE.get_or_init(open_acl_unsafe_list)[..]
}

/// [`open_acl_unsafe`] as a shared handle.
pub fn open_acl_unsafe_shared() -> Arc<[Acl]> {
    OPEN_ACL_UNSAFE.get_or_init(open_acl_unsafe_list).clone()
}

static OPEN_ACL_UNSAFE: OnceLock<Arc<[Acl]>> = OnceLock::new();

fn open_acl_unsafe_list() -> Arc<[Acl]> {
    Arc::from([Acl::new(jute::consts::perms::ALL, "world", "anyone")])
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

    /// Adds `id` unless the session already has it, keeping `ids` in the order Java's connection
    /// iterates them. Java keeps a connection's ids in a set backed by a ConcurrentHashMap, so
    /// whoAmI and the `auth` expansion of an ACL list them in hash order, not in the order they
    /// were added; this reproduces that order (exactly while a session has fewer than 12 ids).
    /// Returns whether the id was added.
    pub fn add_id(&mut self, id: Id) -> bool {
        if self.ids.contains(&id) {
            return false;
        }
        self.ids.push(id);
        let table_size = java_concurrent_hash_map_table_size(self.ids.len());
        // A stable sort keeps ids of one bucket in insertion order, as the bucket's list does.
        self.ids.sort_by_key(|id| java_id_bucket(id, table_size));
        true
    }
}

/// Java's `String.hashCode`: over UTF-16 code units, wrapping.
fn java_string_hash(text: &str) -> i32 {
    text.encode_utf16().fold(0i32, |hash, unit| hash.wrapping_mul(31).wrapping_add(i32::from(unit)))
}

/// The bucket of a jute `Id` (hashCode 17·37² + 37·scheme + id) in a ConcurrentHashMap table.
fn java_id_bucket(id: &Id, table_size: usize) -> usize {
    let hash = 17i32
        .wrapping_mul(37)
        .wrapping_add(java_string_hash(&id.scheme))
        .wrapping_mul(37)
        .wrapping_add(java_string_hash(&id.id));
    // ConcurrentHashMap.spread.
    let spread = (hash ^ ((hash as u32) >> 16) as i32) & 0x7fff_ffff;
    spread as usize & (table_size - 1)
}

/// A ConcurrentHashMap built with the default constructor starts with 16 buckets and doubles
/// when its size reaches three quarters of them.
fn java_concurrent_hash_map_table_size(entries: usize) -> usize {
    let mut size = 16;
    while entries >= size - size / 4 {
        size *= 2;
    }
    size
}

/// An authentication provider registered by default (Java's ProviderRegistry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Ip,
    Digest,
}

impl Provider {
    /// The provider of `scheme`, if one is registered. `world`, `auth` and `super` have none.
    pub fn of(scheme: &str) -> Option<Provider> {
        match scheme {
            "ip" => Some(Provider::Ip),
            "digest" => Some(Provider::Digest),
            _ => None,
        }
    }

    /// Whether the caller's id `id` satisfies the ACL id `acl_expr`.
    pub fn matches(self, id: &str, acl_expr: &str) -> bool {
        match self {
            Provider::Ip => ip_matches(id, acl_expr),
            Provider::Digest => id == acl_expr,
        }
    }

    /// Whether an `auth` ACL entry expands to this provider's ids (ip: no, digest: yes).
    pub fn is_authenticated(self) -> bool {
        match self {
            Provider::Ip => false,
            Provider::Digest => true,
        }
    }

    /// Whether `id` is well formed for an ACL entry of this scheme.
    pub fn is_valid(self, id: &str) -> bool {
        match self {
            Provider::Ip => ip_is_valid(id),
            Provider::Digest => digest_is_valid(id),
        }
    }

    /// The user name whoAmI reports for an id of this scheme.
    pub fn user_name(self, id: &str) -> String {
        match self {
            Provider::Ip => id.to_owned(),
            // Java: id.split(":")[0].
            Provider::Digest => id.split(':').next().unwrap_or_default().to_owned(),
        }
    }
}

/// Java's checkACL: passes if ACLs are skipped, the list is empty, the caller is super, or an
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
    Err(err::NO_AUTH)
}

/// Whether the caller's id `caller` satisfies the ACL entry id `acl_id` under `scheme`; false
/// for a scheme without a provider.
pub fn scheme_matches(scheme: &str, caller: &str, acl_id: &str) -> bool {
    Provider::of(scheme).is_some_and(|provider| provider.matches(caller, acl_id))
}

/// Java's IPAuthenticationProvider.matches: `acl_id` is `a.b.c.d` or `a.b.c.d/bits`, `caller`
/// the client's address; both are masked to `bits` and compared. ZooKeeper 3.8.0 parses IPv4
/// only (its IPv6 parser is a TODO): an IPv6 ACL or caller never matches.
pub fn ip_matches(caller: &str, acl_id: &str) -> bool {
    let Some((acl_address, bits)) = parse_ip_acl(acl_id) else { return false };
    let Some(caller_address) = parse_ipv4(caller) else { return false };
    mask(acl_address, bits) == mask(caller_address, bits)
}

/// Java's IPAuthenticationProvider.isValid: an IPv4 address, optionally `/bits` with
/// 0 ≤ bits ≤ 32.
pub fn ip_is_valid(id: &str) -> bool {
    parse_ip_acl(id).is_some()
}

fn parse_ip_acl(acl_id: &str) -> Option<([u8; 4], u32)> {
    let (address, bits) = match acl_id.split_once('/') {
        Some((address, bits)) => (address, Some(bits)),
        None => (acl_id, None),
    };
    let address = parse_ipv4(address)?;
    let bits = match bits {
        None => 32,
        Some(bits) => u32::try_from(java_parse_int(bits)?).ok().filter(|bits| *bits <= 32)?,
    };
    Some((address, bits))
}

/// Java's v4addr2Bytes: exactly four dot-separated `Integer.parseInt` values in 0..=255.
fn parse_ipv4(address: &str) -> Option<[u8; 4]> {
    let mut bytes = [0u8; 4];
    let mut parts = address.split('.');
    for byte in &mut bytes {
        *byte = u8::try_from(java_parse_int(parts.next()?)?).ok()?;
    }
    parts.next().is_none().then_some(bytes)
}

/// Java's `Integer.parseInt` for ASCII input: optional sign, at least one digit, no overflow.
/// (Java also accepts non-ASCII Unicode digits; we do not.)
fn java_parse_int(text: &str) -> Option<i32> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn mask(address: [u8; 4], bits: u32) -> u32 {
    let value = u32::from_be_bytes(address);
    if bits == 0 {
        0
    } else {
        value & (u32::MAX << (32 - bits))
    }
}

/// Java's DigestAuthenticationProvider.isValid: `id.split(":")` (trailing empty parts dropped)
/// has exactly two parts. So `user:hash` and `user:hash:` are valid, `user:` and `a:b:c` not.
pub fn digest_is_valid(id: &str) -> bool {
    let mut parts: Vec<&str> = id.split(':').collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts.len() == 2
}

/// The digest id of `user:password`: `user:` + base64(SHA1("user:password")). The user is the
/// text before the first `:` (all of it when there is none), the hash covers the whole string.
pub fn digest_id(user_password: &str) -> String {
    let user = user_password.split_once(':').map_or(user_password, |(user, _)| user);
    let hash = Sha1::digest(user_password.as_bytes());
    format!("{user}:{}", base64::engine::general_purpose::STANDARD.encode(hash))
}

/// Handles an AuthPacket: the ids to add to the session, in the order Java adds them, or
/// AuthFailed (after which the server replies -115 and closes the connection).
///
/// - `digest`: `digest:<digest_id(auth)>`, preceded by `super:` when that digest id equals the
///   configured superDigest (`user:base64hash`). The bytes are decoded as UTF-8 with invalid
///   sequences replaced by U+FFFD, as Java's `new String(bytes)` does under a UTF-8 locale.
/// - `ip`: Java re-adds the connection's own `ip:<address>`, which the session already has; so
///   nothing is added and the packet succeeds.
/// - anything else (`world`, `auth`, `super`, `sasl`, unknown): no provider, AuthFailed.
pub fn authenticate(scheme: &str, auth: &[u8], super_digest: Option<&str>) -> Result<Vec<Id>, i32> {
    match Provider::of(scheme) {
        Some(Provider::Digest) => {
            let digest = digest_id(&String::from_utf8_lossy(auth));
            let mut ids = Vec::with_capacity(2);
            if super_digest == Some(digest.as_str()) {
                ids.push(Id::new("super", ""));
            }
            ids.push(Id::new("digest", digest));
            Ok(ids)
        }
        Some(Provider::Ip) => Ok(Vec::new()),
        None => Err(err::AUTH_FAILED),
    }
}

/// Java's PrepRequestProcessor.fixupACL, used by create and setACL: duplicates are dropped
/// (first occurrence kept), then each entry is kept as is (`world:anyone`, or a valid id of a
/// registered provider) or, for the `auth` scheme, replaced by one entry per caller id whose
/// provider is authenticated (digest; not ip, not super) with the same perms. InvalidACL for an
/// empty list, an `auth` entry the caller has no such id for, an unknown scheme (including
/// `super` and any `world` id but `anyone`) or an id its provider rejects. `path` only names the
/// node in the error Java raises. The expanded list is not deduplicated again (nor in Java).
pub fn fixup_acl(path: &str, auth: &AuthInfo, acl: &[Acl]) -> Result<Vec<Acl>, i32> {
    let _ = path;
    let mut unique: Vec<&Acl> = Vec::with_capacity(acl.len());
    for entry in acl {
        if !unique.contains(&entry) {
            unique.push(entry);
        }
    }
    if unique.is_empty() {
        return Err(err::INVALID_ACL);
    }
    let mut fixed = Vec::with_capacity(unique.len());
    for entry in unique {
        let id = &entry.id;
        if id.scheme == "world" && id.id == "anyone" {
            fixed.push(entry.clone());
        } else if id.scheme == "auth" {
            let before = fixed.len();
            for caller in &auth.ids {
                if Provider::of(&caller.scheme).is_some_and(Provider::is_authenticated) {
                    fixed.push(Acl { perms: entry.perms, id: caller.clone() });
                }
            }
            if fixed.len() == before {
                return Err(err::INVALID_ACL);
            }
        } else if Provider::of(&id.scheme).is_some_and(|provider| provider.is_valid(&id.id)) {
            fixed.push(entry.clone());
        } else {
            return Err(err::INVALID_ACL);
        }
    }
    Ok(fixed)
}

/// whoAmI (AuthUtil.getClientInfos): each id's scheme and the user its provider names (`""`
/// for a scheme without a provider, such as `super`).
pub fn client_infos(auth: &AuthInfo) -> Vec<ClientInfo> {
    auth.ids
        .iter()
        .map(|id| ClientInfo {
            auth_scheme: id.scheme.clone(),
            user: Provider::of(&id.scheme).map(|provider| provider.user_name(&id.id)).unwrap_or_default(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_string_hash_matches_known_values() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        // "hello".hashCode() == 99162322
        assert_eq!(java_string_hash("hello"), 99_162_322);
        // Wraps like Java's int: "polygenelubricants".hashCode() == Integer.MIN_VALUE
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
    }

    #[test]
    fn table_size_grows_at_three_quarters() {
        assert_eq!(java_concurrent_hash_map_table_size(1), 16);
        assert_eq!(java_concurrent_hash_map_table_size(11), 16);
        assert_eq!(java_concurrent_hash_map_table_size(12), 32);
        assert_eq!(java_concurrent_hash_map_table_size(24), 64);
    }
}
