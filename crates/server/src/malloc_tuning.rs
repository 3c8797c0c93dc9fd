//! A larger per-thread cache for glibc's malloc.
//!
//! glibc keeps freed blocks in a per-thread cache (tcache) of at most 7 blocks per size, for
//! sizes up to 1 KiB. The core allocates a batch's requests, txns, messages and replies, then
//! frees them together a round trip later: bursts far larger than 7, so most mallocs and frees
//! fell through to the arena's bins, where fastbin consolidation and bin sorting made malloc
//! about a fifth of the leader's CPU time under a create load. A cache of 1000 blocks per size
//! took ensemble create from ~39k to ~43k ops/s here, with the same RSS idle and with 1 M
//! znodes (docs/PERFORMANCE.md).
//!
//! glibc reads its tunables from `GLIBC_TUNABLES` once, at process start, and has no call to
//! change the cache later. So `main` re-executes the binary once (same pid, same arguments)
//! with the tunables added. An operator's own `GLIBC_TUNABLES` that already sets a
//! `glibc.malloc.tcache` tunable is left as it is (`glibc.malloc.tcache_count=7` restores
//! glibc's default).

/// What the server adds to `GLIBC_TUNABLES`.
/// (glibc 2.36 caches sizes up to 1 KiB at most; `tcache_max` cannot raise that.)
pub const TUNABLES: &str = "glibc.malloc.tcache_count=1000";

/// The `GLIBC_TUNABLES` value to re-execute with, or None when `current` already sets the cache
/// (our own re-execution included).
pub fn tuned_value(current: Option<&str>) -> Option<String> {
    match current {
        Some(value) if value.contains("glibc.malloc.tcache") => None,
        Some(value) if !value.is_empty() => Some(format!("{value}:{TUNABLES}")),
        _ => Some(TUNABLES.to_string()),
    }
}

/// Re-executes this process with the tuned cache, when glibc is the allocator and the cache is
/// not set yet. Returns only if it does not re-execute (or the exec failed: the server then
/// runs with glibc's defaults, which only costs speed).
pub fn reexec_with_tuned_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        let current = std::env::var("GLIBC_TUNABLES").ok();
        let Some(value) = tuned_value(current.as_deref()) else { return };
        let mut args = std::env::args_os();
        let program = args.next().unwrap_or_default();
        // The binary's own path, so the process keeps its name (`ps`, `top`, `pgrep
        // ferrokeeper` read the name exec gives it); /proc/self/exe when that path is gone
        // (replaced since the start), which names the process "exe" but runs this binary.
        let binary = std::env::current_exe()
            .ok()
            .filter(|path| path.exists())
            .unwrap_or_else(|| std::path::PathBuf::from("/proc/self/exe"));
        let error =
            std::process::Command::new(binary).arg0(&program).args(args).env("GLIBC_TUNABLES", value).exec();
        eprintln!(
            "ferrokeeper: could not re-execute with GLIBC_TUNABLES ({error}); using glibc's malloc defaults"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tunables_are_added_to_an_operators_own_and_never_twice() {
        assert_eq!(tuned_value(None).as_deref(), Some(TUNABLES));
        assert_eq!(tuned_value(Some("")).as_deref(), Some(TUNABLES));
        assert_eq!(
            tuned_value(Some("glibc.malloc.arena_max=2")),
            Some(format!("glibc.malloc.arena_max=2:{TUNABLES}"))
        );
        // After the re-execution, and when an operator chose a cache size.
        assert_eq!(tuned_value(Some(TUNABLES)), None);
        assert_eq!(tuned_value(Some("glibc.malloc.tcache_count=7")), None);
    }
}
