//! Seeded whole-ensemble simulation: `cargo test -p zab --test simulation`.
//! `ZAB_SIM_SEEDS=N` runs N seeds (default 500) from `ZAB_SIM_SEED_START` (default 0);
//! `ZAB_SIM_SEED=S` runs exactly seed S, printing its configuration and statistics; add
//! `ZAB_SIM_TRACE=1` to print every event of the run.

mod sim;

use sim::{SimConfig, Simulation};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

fn run_seed(seed: u64) -> Simulation {
    let mut simulation = Simulation::new(SimConfig::from_seed(seed));
    simulation.run();
    simulation
}

fn check_seed(seed: u64) -> Simulation {
    match catch_unwind(AssertUnwindSafe(|| run_seed(seed))) {
        Ok(simulation) => simulation,
        Err(panic) => {
            eprintln!(
                "simulation failed; reproduce with: ZAB_SIM_SEED={seed} cargo test -p zab --test simulation"
            );
            std::panic::resume_unwind(panic)
        }
    }
}

#[test]
fn seeded_simulation_keeps_zab_invariants_and_converges() {
    if let Ok(seed) = std::env::var("ZAB_SIM_SEED") {
        let seed: u64 = seed.parse().expect("ZAB_SIM_SEED is a number");
        let simulation = check_seed(seed);
        eprintln!("seed {seed}: {:?} {:?}", simulation.stats, simulation.config);
        return;
    }
    let seeds: u64 = std::env::var("ZAB_SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(500);
    let start: u64 = std::env::var("ZAB_SIM_SEED_START").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    let started = Instant::now();
    let mut totals = std::collections::BTreeMap::new();
    for seed in start..start + seeds {
        let done = seed - start;
        if done > 0 && done / 1000 * 1000 == done {
            eprintln!("{done} seeds done in {:?}", started.elapsed());
        }
        let simulation = check_seed(seed);
        for (stat, count) in &simulation.stats {
            *totals.entry(*stat).or_insert(0u64) += count;
        }
        *totals.entry("committed").or_insert(0) += simulation.checker.committed() as u64;
    }
    eprintln!("{seeds} seeds in {:?}: {totals:?}", started.elapsed());
    if seeds >= 100 {
        // The faults and every sync path actually happen.
        for stat in [
            "DIFF",
            "TRUNC",
            "SNAP",
            "crashes",
            "partitions",
            "connection breaks",
            "established",
            "snapshots",
        ] {
            assert!(totals.get(stat).copied().unwrap_or(0) > 0, "no {stat} in {seeds} seeds: {totals:?}");
        }
    }
}
