//! The watch manager: one-shot data/child watches, persistent and persistent-recursive watches.

/// Identifies who receives an event: the server uses one id per connection.
pub type WatcherId = u64;

#[derive(Debug, Default)]
pub struct WatchManager {}
