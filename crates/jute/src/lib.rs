//! jute
