//! ZooKeeper's data tree: znodes, ACLs, ephemerals, sessions and watches. Pure: no I/O, no clock.
//!
//! Writes go through two steps, as in Java's PrepRequestProcessor / FinalRequestProcessor:
//! - [`prep`] turns a client write into a txn (or an error txn), validating it against the tree as
//!   it will be once every txn already handed out is applied ([`prep::PendingChanges`]);
//! - [`DataTree::apply`] applies a txn (after it was made durable) and returns its result and the
//!   watch events it triggers.
//!
//! Reads ([`read`]) are answered from the tree directly.

pub mod acl;
pub mod acl_cache;
mod dense;
pub mod node;
pub mod path;
pub mod prep;
pub mod read;
pub mod tree;
pub mod watch;

pub use node::{Node, NodeHead};
pub use tree::DataTree;
pub use tree::{ApplyOutcome, TxnResult};
pub use watch::{WatchNotification, WatchSummary, WatcherId};
