//! Zab: election, discovery, sync and broadcast as a sans-io state machine (to come: issue 4).
