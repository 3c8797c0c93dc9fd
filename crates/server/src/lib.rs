//! The ferrokeeper server: configuration, connections, sessions, the request pipeline and four-letter words.

pub mod config;
pub mod logging;
pub mod reply;
pub mod session_id;
pub mod sessions;
pub mod settings;
pub mod stats;
