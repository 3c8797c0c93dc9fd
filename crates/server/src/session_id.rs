//! Session ids and passwords, generated exactly as Java ZooKeeper generates them.
