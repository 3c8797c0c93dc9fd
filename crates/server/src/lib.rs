//! The ferrokeeper server: configuration, connections, sessions, the request pipeline and four-letter words.

pub mod config;
pub mod session_id;
