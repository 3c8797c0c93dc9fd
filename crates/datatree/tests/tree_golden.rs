//! Differential test against Debian's ZooKeeper 3.8.0 DataTree: `tree_golden/apply.txt` was
//! recorded by `tree_golden/ApplyGolden.java` running each txn and watch operation through the
//! real DataTree. Replaying the script here must give the same result for every txn, the same
//! events (with the same gating ACL) to every watcher, and the same tree after every txn: node
//! data, stats, ACL ids, ACL cache with reference counts, ephemerals, containers, TTLs, digest,
//! node count, cached data size, watch counts.

use datatree::{ApplyOutcome, DataTree, TxnResult, WatchNotification};
use jute::records::{Acl, StatPersisted};
use jute::txn::{TxnBody, TxnHeader};
use jute::{Field, Record};
use std::collections::BTreeMap;

fn unhex(text: &str) -> Vec<u8> {
    if text == "-" {
        return Vec::new();
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "-".into();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn acl_text(acl: &[Acl]) -> String {
    if acl.is_empty() {
        return "-".into();
    }
    let mut out = Vec::new();
    acl.to_vec().write(&mut out);
    hex(&out)
}

fn result_line(result: &TxnResult) -> String {
    let path = if result.path.is_empty() { "-".to_string() } else { result.path.clone() };
    let stat = result.stat.as_ref().map_or("-".to_string(), |stat| hex(&stat.encode()));
    format!("{}\t{}\t{}\t{}", result.err, result.txn_type, path, stat)
}

fn events_line(notifications: &[WatchNotification]) -> String {
    let mut by_watcher: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for notification in notifications {
        for watcher in &notification.watchers {
            by_watcher.entry(*watcher).or_default().push(format!(
                "{}:{}:{}",
                notification.event.r#type,
                notification.event.path,
                acl_text(&notification.acl)
            ));
        }
    }
    let mut line = String::from("events");
    for (watcher, events) in by_watcher {
        line.push_str(&format!("\t{watcher}={}", events.join(",")));
    }
    line
}

fn joined(paths: &[String]) -> String {
    if paths.is_empty() {
        "-".into()
    } else {
        paths.join(",")
    }
}

fn state_lines(tree: &DataTree) -> Vec<String> {
    let summary = tree.watch_summary();
    let mut lines = vec![format!(
        "state\tdigest={:x}\tcount={}\tsize={}\tzxid={:x}\twatches={}\tsummary={}/{}/{}\tephemerals={}",
        tree.digest(),
        tree.node_count(),
        tree.approximate_data_size(),
        tree.last_processed_zxid(),
        tree.watch_count(),
        summary.connections,
        summary.paths,
        summary.total,
        tree.ephemerals_count()
    )];
    let mut nodes: Vec<(String, String)> = Vec::new();
    for (path, node) in tree.nodes_depth_first() {
        let path = if path.is_empty() { "/".to_string() } else { path };
        let data = match node.data() {
            None => "null".to_string(),
            Some([]) => "x".to_string(),
            Some(data) => format!("x{}", hex(data)),
        };
        let stat: &StatPersisted = &node.stat();
        let line = format!(
            "node\t{path}\t{data}\t{}\t{}\t{}",
            node.acl_id(),
            hex(&stat.encode()),
            node.child_count()
        );
        nodes.push((path, line));
    }
    // Java's TreeMap<String> order: UTF-16 code units, which for these ASCII paths is byte order.
    nodes.sort();
    lines.extend(nodes.into_iter().map(|(_, line)| line));
    for (id, acl) in tree.acl_cache().entries() {
        lines.push(format!("acl\t{id}\t{}\t{}", tree.acl_cache().reference_count(id), acl_text(acl)));
    }
    for session in tree.ephemeral_sessions() {
        lines.push(format!("ephemerals\t{session:x}\t{}", joined(&tree.ephemerals_of(session))));
    }
    lines.push(format!("containers\t{}", joined(&tree.container_paths())));
    lines.push(format!("ttls\t{}", joined(&tree.ttl_paths())));
    lines
}

/// Loads what Java's DataTree.serialize wrote (ACL map, then nodes until the path "/") into a
/// fresh tree, as a snapshot loader would.
fn load_snapshot(bytes: &[u8]) -> DataTree {
    let mut reader = jute::Reader::new(bytes);
    let mut tree = DataTree::new();
    tree.begin_load();
    let count = i32::read(&mut reader).unwrap();
    for _ in 0..count {
        let id = i64::read(&mut reader).unwrap();
        let acl = Vec::<Acl>::read(&mut reader).unwrap();
        tree.load_acl(id, acl);
    }
    loop {
        let path = String::read(&mut reader).unwrap();
        if path == "/" {
            break;
        }
        let data = Option::<jute::Bytes>::read(&mut reader).unwrap();
        let acl_id = i64::read(&mut reader).unwrap();
        let stat = StatPersisted::read(&mut reader).unwrap();
        tree.insert_loaded_node(&path, data.as_deref(), acl_id, stat).unwrap();
    }
    reader.finish().unwrap();
    tree.finish_load();
    tree
}

fn split_paths(field: &str) -> Vec<String> {
    if field == "-" {
        Vec::new()
    } else {
        field.split(',').map(str::to_owned).collect()
    }
}

#[test]
fn apply_matches_javas_data_tree() {
    let script = include_str!("tree_golden/apply.txt");
    let lines: Vec<&str> = script.lines().collect();
    let mut tree = DataTree::new();
    let mut scenario = String::new();
    let mut i = 0;
    let mut txns = 0;
    let next = |i: &mut usize| {
        let line = lines[*i];
        *i += 1;
        line
    };
    let expect_state = |tree: &DataTree, i: &mut usize, lines: &[&str], context: &str| {
        let ours = state_lines(tree);
        let mut theirs = Vec::new();
        while *i < lines.len()
            && ["state\t", "node\t", "acl\t", "ephemerals\t", "containers\t", "ttls\t"]
                .iter()
                .any(|prefix| lines[*i].starts_with(prefix))
        {
            theirs.push(lines[*i].to_string());
            *i += 1;
        }
        assert_eq!(ours.join("\n"), theirs.join("\n"), "tree after {context}");
    };
    while i < lines.len() {
        let line = next(&mut i);
        let fields: Vec<&str> = line.split('\t').collect();
        let context = format!("{scenario}, line {i}: {line}");
        match fields[0] {
            _ if line.starts_with("# ") => scenario = line[2..].to_owned(),
            "reset" => tree = DataTree::new(),
            "state" => {
                i -= 1;
                expect_state(&tree, &mut i, &lines, &context);
            }
            "txn" => {
                let header = TxnHeader::decode(&unhex(fields[1])).unwrap();
                let body = TxnBody::decode(header.r#type, &unhex(fields[2])).unwrap();
                let ApplyOutcome { result, events } = tree.apply(&header, &body);
                txns += 1;
                let expected = next(&mut i);
                let ours = format!("result\t{}\t{}", result_line(&result), result.multi.len());
                assert_eq!(ours, expected, "result, {context}");
                for sub in &result.multi {
                    assert_eq!(format!("sub\t{}", result_line(sub)), next(&mut i), "sub result, {context}");
                }
                assert_eq!(events_line(&events), next(&mut i), "events, {context}");
                expect_state(&tree, &mut i, &lines, &context);
            }
            "watch" => {
                let (kind, path) = (fields[1], fields[2]);
                let watcher: u64 = fields[3].parse().unwrap();
                let watcher_type: i32 = fields[4].parse().unwrap();
                let auth = datatree::acl::AuthInfo { ids: vec![], skip_acl: true };
                let code = |result: Result<(), i32>| match result {
                    Ok(()) => "ok".to_string(),
                    Err(code) => format!("err {code}"),
                };
                let answer = match kind {
                    "data" => code(datatree::read::get_data(&mut tree, path, &auth, Some(watcher)).map(drop)),
                    "exists" => code(datatree::read::exists(&mut tree, path, &auth, Some(watcher)).map(drop)),
                    "child" => {
                        code(datatree::read::get_children(&mut tree, path, &auth, Some(watcher)).map(drop))
                    }
                    "persistent" | "recursive" => {
                        tree.add_persistent_watch(path, watcher, kind == "recursive");
                        "ok".into()
                    }
                    "check" => tree.remove_watches(path, watcher_type, watcher, true).to_string(),
                    "remove" => tree.remove_watches(path, watcher_type, watcher, false).to_string(),
                    "drop" => {
                        tree.remove_watcher(watcher);
                        "ok".into()
                    }
                    other => panic!("unknown watch kind {other}"),
                };
                assert_eq!(format!("answer\t{answer}"), next(&mut i), "{context}");
                assert_eq!("events", next(&mut i), "{context}");
            }
            "snapshot" => {
                tree = load_snapshot(&unhex(fields[1]));
                expect_state(&tree, &mut i, &lines, &context);
            }
            "setwatches" => {
                let watcher: u64 = fields[1].parse().unwrap();
                let relative: i64 = fields[2].parse().unwrap();
                let lists: Vec<Vec<String>> = fields[3..8].iter().map(|f| split_paths(f)).collect();
                let missed = tree
                    .set_watches(relative, &lists[0], &lists[1], &lists[2], &lists[3], &lists[4], watcher);
                assert_eq!(events_line(&missed), next(&mut i), "{context}");
            }
            other => panic!("unknown script line {other:?} at {i}"),
        }
    }
    assert!(txns > 100, "the script ran ({txns} txns)");
}
