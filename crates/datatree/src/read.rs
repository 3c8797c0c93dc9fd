//! Reads, answered from the tree as it is now, as Java 3.8.0's FinalRequestProcessor answers
//! them. Each returns the response record or a result code. Those that can leave a watch take
//! the tree mutably and the watcher to register (`None` when the request's watch flag is off).
//!
//! Order of checks (which error wins): the node must exist (NoNode), then the ACL (NoAuth), then
//! the watch is registered. The exception is `exists`, whose watch is registered even when the
//! node is missing (it then fires NodeCreated).

use crate::acl::{check_acl, AuthInfo};
use crate::tree::DataTree;
use crate::watch::WatcherId;
use jute::consts::{err, perms};
use jute::proto::{
    ExistsResponse, GetAclResponse, GetAllChildrenNumberResponse, GetChildren2Response, GetChildrenResponse,
    GetDataResponse, GetEphemeralsResponse,
};
use jute::records::{Acl, Id};
use jute::request::{MultiOp, MultiResponse, OpResult};

/// Whether `exists` checks READ on an existing node. Java added that check in 3.8.4
/// (ZOOKEEPER-2590); 3.8.0, which we match, answers `exists` for anyone.
pub const EXISTS_CHECKS_READ_ACL: bool = false;

/// getData: NoNode, READ, then the data watch.
pub fn get_data(
    tree: &mut DataTree,
    path: &str,
    auth: &AuthInfo,
    watch: Option<WatcherId>,
) -> Result<GetDataResponse, i32> {
    let node = tree.get_node(path).ok_or(err::NO_NODE)?;
    check_acl(tree.node_acl(node), perms::READ, auth)?;
    let response = GetDataResponse { data: node.data_bytes(), stat: node.client_stat() };
    if let Some(watcher) = watch {
        tree.add_data_watch(path, watcher);
    }
    Ok(response)
}

/// exists: a path holding NUL is BadArguments; the data watch is registered whether or not the
/// node exists; a missing node is NoNode. No ACL check (see [`EXISTS_CHECKS_READ_ACL`]).
pub fn exists(
    tree: &mut DataTree,
    path: &str,
    auth: &AuthInfo,
    watch: Option<WatcherId>,
) -> Result<ExistsResponse, i32> {
    if path.contains('\0') {
        return Err(err::BAD_ARGUMENTS);
    }
    if EXISTS_CHECKS_READ_ACL {
        if let Some(node) = tree.get_node(path) {
            check_acl(tree.node_acl(node), perms::READ, auth)?;
        }
    }
    if let Some(watcher) = watch {
        tree.add_data_watch(path, watcher);
    }
    let node = tree.get_node(path).ok_or(err::NO_NODE)?;
    Ok(ExistsResponse { stat: node.client_stat() })
}

/// getChildren: NoNode, READ, then the child watch. Names are in byte order (Java's order is its
/// hash set's, which clients must not rely on).
pub fn get_children(
    tree: &mut DataTree,
    path: &str,
    auth: &AuthInfo,
    watch: Option<WatcherId>,
) -> Result<GetChildrenResponse, i32> {
    get_children2(tree, path, auth, watch).map(|response| GetChildrenResponse { children: response.children })
}

/// getChildren2: as getChildren, plus the node's stat.
pub fn get_children2(
    tree: &mut DataTree,
    path: &str,
    auth: &AuthInfo,
    watch: Option<WatcherId>,
) -> Result<GetChildren2Response, i32> {
    let node = tree.get_node(path).ok_or(err::NO_NODE)?;
    check_acl(tree.node_acl(node), perms::READ, auth)?;
    let children = tree.children(path).map(str::to_owned).collect();
    let response = GetChildren2Response { children, stat: node.client_stat() };
    if let Some(watcher) = watch {
        tree.add_child_watch(path, watcher);
    }
    Ok(response)
}

/// getACL: NoNode, then READ or ADMIN. Without ADMIN, digest ids come back masked as
/// `user:x` (3.8.0 already did this).
pub fn get_acl(tree: &DataTree, path: &str, auth: &AuthInfo) -> Result<GetAclResponse, i32> {
    let node = tree.get_node(path).ok_or(err::NO_NODE)?;
    let acl = tree.node_acl(node);
    check_acl(acl, perms::READ | perms::ADMIN, auth)?;
    let acl = if check_acl(acl, perms::ADMIN, auth).is_ok() {
        acl.to_vec()
    } else {
        acl.iter()
            .map(|entry| {
                if entry.id.scheme == "digest" {
                    Acl { perms: entry.perms, id: Id::new("digest", mask_digest(&entry.id.id)) }
                } else {
                    entry.clone()
                }
            })
            .collect()
    };
    Ok(GetAclResponse { acl, stat: node.client_stat() })
}

/// Java's `id.replaceAll(":.*", ":x")`: every `:` and the rest of its line becomes `:x`
/// (`.` stops at line terminators, so a later line with a `:` is masked too).
fn mask_digest(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    let mut masking = false;
    for c in id.chars() {
        let line_end = matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}');
        if masking && !line_end {
            continue;
        }
        masking = false;
        if c == ':' {
            out.push_str(":x");
            masking = true;
        } else {
            out.push(c);
        }
    }
    out
}

/// getAllChildrenNumber: NoNode, READ, then the number of descendants (all levels). For `/`
/// that is every node but the root, `/zookeeper` and its children included.
pub fn get_all_children_number(
    tree: &DataTree,
    path: &str,
    auth: &AuthInfo,
) -> Result<GetAllChildrenNumberResponse, i32> {
    let node = tree.get_node(path).ok_or(err::NO_NODE)?;
    check_acl(tree.node_acl(node), perms::READ, auth)?;
    let total = if path.is_empty() {
        // Java counts the map keys starting with "/": every node, the root included.
        tree.nodes.len()
    } else {
        crate::tree::descendants(&tree.nodes, path).count()
    };
    Ok(GetAllChildrenNumberResponse { total_number: i32::try_from(total).unwrap_or(i32::MAX) })
}

/// getEphemerals: the ephemerals of the caller's own `session` whose path starts with
/// `prefix` (plain string prefix); a prefix that is blank or `/` (after Java's trim) means all.
/// Sorted. No ACL check, no error.
pub fn get_ephemerals(tree: &DataTree, session: i64, prefix: &str) -> GetEphemeralsResponse {
    let trimmed = prefix.trim_matches(|c: char| c <= ' ');
    let all = trimmed.is_empty() || trimmed == "/";
    let ephemerals =
        tree.ephemerals_of(session).into_iter().filter(|path| all || path.starts_with(prefix)).collect();
    GetEphemeralsResponse { ephemerals }
}

/// multiRead: each getData / getChildren answered on its own (an error becomes that op's error
/// result; nothing aborts). Java ignores the sub-requests' watch flags (its Op records drop
/// them), so no watch is ever left. Write ops cannot occur (the decoder refuses them); were one
/// passed, it answers MarshallingError.
pub fn multi_read(tree: &mut DataTree, ops: &[MultiOp], auth: &AuthInfo) -> MultiResponse {
    let results = ops
        .iter()
        .map(|op| {
            let result = match op {
                MultiOp::GetData(request) => get_data(tree, &request.path, auth, None)
                    .map(|response| OpResult::GetData { data: response.data, stat: response.stat }),
                MultiOp::GetChildren(request) => get_children(tree, &request.path, auth, None)
                    .map(|response| OpResult::GetChildren { children: response.children }),
                _ => Err(err::MARSHALLING_ERROR),
            };
            result.unwrap_or_else(|err| OpResult::Error { err })
        })
        .collect();
    MultiResponse { results }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_ids_mask_like_java_replace_all() {
        assert_eq!(mask_digest("alice:Z0aq3ibJsfVE8G+hbqeXDs2N0tY="), "alice:x");
        assert_eq!(mask_digest("nocolon"), "nocolon");
        assert_eq!(mask_digest("a:b:c"), "a:x");
        assert_eq!(mask_digest("a:b\nc:d"), "a:x\nc:x");
    }
}
