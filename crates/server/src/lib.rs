//! The ferrokeeper server: configuration, connections, sessions, the request pipeline and
//! four-letter words.
//!
//! Request path: [`connection`] reads frames and hands decoded requests to the [`core`] task, which
//! preps writes into txns, persists them, applies them to the data tree, and queues watch events
//! and replies on each connection in order.

pub mod admin;
pub mod cli;
pub mod config;
pub mod connection;
pub mod core;
pub mod fourlw;
pub mod http;
pub mod json;
pub mod logging;
pub mod metrics;
pub mod mntr_keys;
pub mod multicall;
pub mod quorum;
pub mod ready;
pub mod reply;
pub mod serve;
pub mod server;
pub mod session_id;
pub mod sessions;
pub mod settings;
pub mod start_zookeeper;
pub mod stats;
pub mod storage;
