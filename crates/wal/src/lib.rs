//! Transaction log, snapshots, recovery and purge in ZooKeeper's on-disk format (to come: issue 3).
