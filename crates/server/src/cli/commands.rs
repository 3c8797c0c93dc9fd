//! zkCli's commands: argument parsing (commons-cli style flags), the calls, the output.

use super::client::{print_event, KeeperError, Session, WatchKind};
use super::format;
use jute::consts::{add_watch_mode, err, event_type, keeper_state};
use jute::proto::*;
use jute::records::Acl;
use jute::request::{MultiOp, Request};
use jute::{Bytes, Field, Reader};
use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Every command and its option string, as ZooKeeperMain's usage lists them.
const USAGE: &[(&str, &str)] = &[
    ("addWatch", "[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE"),
    ("addauth", "scheme auth"),
    ("close", ""),
    ("config", "[-c] [-w] [-s]"),
    ("connect", "host:port"),
    ("create", "[-s] [-e] [-c] [-t ttl] path [data] [acl]"),
    ("delete", "[-v version] path"),
    ("deleteall", "path [-b batch size]"),
    ("delquota", "[-n|-b|-N|-B] path"),
    ("get", "[-s] [-w] path"),
    ("getAcl", "[-s] path"),
    ("getAllChildrenNumber", "path"),
    ("getEphemerals", "path"),
    ("history", ""),
    ("listquota", "path"),
    ("ls", "[-s] [-w] [-R] path"),
    ("printwatches", "on|off"),
    ("quit", ""),
    ("reconfig", "[-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]"),
    ("redo", "cmdno"),
    ("removewatches", "path [-c|-d|-a] [-l]"),
    ("set", "[-s] [-v version] path data"),
    ("setAcl", "[-s] [-v version] [-R] path acl"),
    ("setquota", "-n|-b|-N|-B val path"),
    ("stat", "[-w] path"),
    ("sync", "path"),
    ("version", ""),
    ("whoami", ""),
];

/// The largest ttl a TTL node may have (EphemeralType.TTL's 40 bits).
const MAX_TTL: i64 = 0xFF_FFFF_FFFF;

/// A failed command: its message (stderr) and zkCli's exit code for it.
#[derive(Debug)]
pub struct CliError {
    message: String,
    code: i32,
}

impl CliError {
    fn new(message: impl Into<String>) -> Self {
        CliError { message: message.into(), code: 1 }
    }
}

type CliResult = Result<(), CliError>;

/// Flags parsed the way commons-cli's PosixParser parses them.
#[derive(Debug, Default)]
struct Parsed {
    flags: HashMap<char, Option<String>>,
    args: Vec<String>,
}

impl Parsed {
    fn has(&self, flag: char) -> bool {
        self.flags.contains_key(&flag)
    }
    fn value(&self, flag: char) -> Option<&str> {
        self.flags.get(&flag).and_then(|v| v.as_deref())
    }
}

/// `spec`: the flag letters; a letter followed by ':' takes a value.
fn parse_flags(words: &[String], spec: &str) -> Result<Parsed, CliError> {
    let takes_value = |c: char| spec.find(c).is_some_and(|i| spec[i + c.len_utf8()..].starts_with(':'));
    let known = |c: char| c != ':' && spec.contains(c);
    let mut parsed = Parsed::default();
    let mut it = words.iter();
    if let Some(command) = it.next() {
        parsed.args.push(command.clone());
    }
    while let Some(word) = it.next() {
        if word.len() > 1 && word.starts_with('-') && word != "--" {
            let letters: Vec<char> = word[1..].chars().collect();
            let mut i = 0;
            while i < letters.len() {
                let c = letters[i];
                if !known(c) {
                    return Err(CliError::new(format!(
                        "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -{}",
                        if i == 0 { word[1..].to_owned() } else { c.to_string() }
                    )));
                }
                if takes_value(c) {
                    let rest: String = letters[i + 1..].iter().collect();
                    let value = if !rest.is_empty() {
                        rest
                    } else {
                        it.next().cloned().ok_or_else(|| {
                            CliError::new(format!(
                                "org.apache.commons.cli.MissingArgumentException: Missing argument for option: {c}"
                            ))
                        })?
                    };
                    parsed.flags.insert(c, Some(value));
                    break;
                }
                parsed.flags.insert(c, None);
                i += 1;
            }
        } else {
            parsed.args.push(word.clone());
        }
    }
    Ok(parsed)
}

fn usage_of(command: &str) -> CliError {
    let options = USAGE.iter().find(|(name, _)| *name == command).map_or("", |(_, o)| *o);
    CliError::new(format!("{command} {options}"))
}

fn print_usage() {
    eprintln!("ZooKeeper -server host:port -client-configuration properties-file cmd args");
    for (name, options) in USAGE {
        eprintln!("\t{name} {options}");
    }
}

/// Java's Integer.parseInt failing inside a command kills zkCli with a stack trace.
fn parse_int(text: &str) -> i32 {
    match text.parse() {
        Ok(value) => value,
        Err(_) => {
            eprintln!(
                "Exception in thread \"main\" java.lang.NumberFormatException: For input string: \"{text}\""
            );
            let _ = std::io::stdout().flush();
            std::process::exit(1);
        }
    }
}

fn decode<R: Field>(body: &[u8]) -> Result<R, KeeperError> {
    R::read(&mut Reader::new(body)).map_err(|_| KeeperError(err::MARSHALLING_ERROR))
}

/// The shell: one session, the history, the last exit code.
#[derive(Debug)]
pub struct Shell {
    host: String,
    timeout_ms: u64,
    read_only: bool,
    session: Option<Session>,
    history: HashMap<usize, String>,
    command_count: usize,
    print_watches: bool,
    pub exit_code: i32,
}

impl Shell {
    pub fn connect(host: &str, timeout_ms: u64, read_only: bool) -> Shell {
        let mut shell = Shell {
            host: host.to_owned(),
            timeout_ms,
            read_only,
            session: None,
            history: HashMap::new(),
            command_count: 0,
            print_watches: true,
            exit_code: 0,
        };
        shell.reconnect(host);
        shell
    }

    fn reconnect(&mut self, host: &str) {
        if let Some(session) = self.session.as_mut() {
            if session.is_alive() {
                session.close();
            }
        }
        self.host = host.to_owned();
        self.session = Session::connect(host, Duration::from_millis(self.timeout_ms.max(1)), self.read_only);
        if let Some(session) = &self.session {
            session.shared.print_watches.store(self.print_watches, Ordering::Relaxed);
        }
    }

    pub fn prompt(&self) -> String {
        let state = match &self.session {
            Some(session) if session.is_alive() => "CONNECTED",
            Some(_) => "CLOSED",
            None => "CONNECTING",
        };
        format!("[zk: {}({}) {}] ", self.host, state, self.command_count)
    }

    /// One line typed or piped: recorded in the history, then run.
    pub fn execute_line(&mut self, line: &str) {
        if line.is_empty() {
            return;
        }
        self.history.insert(self.command_count, line.to_owned());
        self.process(super::split_line(line));
        self.command_count += 1;
    }

    /// Runs a command; sets the exit code; prints a failure on stderr.
    pub fn process(&mut self, words: Vec<String>) {
        match self.run(words) {
            Ok(()) => self.exit_code = 0,
            Err(error) => {
                self.exit_code = error.code;
                eprintln!("{}", error.message);
            }
        }
        let _ = std::io::stdout().flush();
    }

    fn run(&mut self, words: Vec<String>) -> CliResult {
        let Some(command) = words.first().cloned() else {
            print_usage();
            return Err(CliError::new("No command entered"));
        };
        if !USAGE.iter().any(|(name, _)| *name == command) {
            print_usage();
            return Err(CliError {
                message: format!("Command not found: Command not found {command}"),
                code: 127,
            });
        }
        match command.as_str() {
            "quit" => {
                if let Some(session) = self.session.as_mut() {
                    session.close();
                }
                let _ = std::io::stdout().flush();
                std::process::exit(self.exit_code);
            }
            "redo" if words.len() >= 2 => return self.redo(&words[1]),
            "history" => {
                let start = self.command_count.saturating_sub(10);
                for i in start..=self.command_count {
                    match self.history.get(&i) {
                        Some(line) => println!("{i} - {line}"),
                        None => println!("{i} - null"),
                    }
                }
                return Ok(());
            }
            "printwatches" => {
                if words.len() == 1 {
                    println!("printwatches is {}", if self.print_watches { "on" } else { "off" });
                } else {
                    self.print_watches = words[1] == "on";
                    if let Some(session) = &self.session {
                        session.shared.print_watches.store(self.print_watches, Ordering::Relaxed);
                    }
                }
                return Ok(());
            }
            "connect" => {
                let host = words.get(1).cloned().unwrap_or_else(|| self.host.clone());
                self.reconnect(&host);
                return Ok(());
            }
            "version" => {
                println!("ZooKeeper CLI version: {}", crate::fourlw::VERSION);
                return Ok(());
            }
            _ => {}
        }
        let alive = self.session.as_ref().is_some_and(Session::is_alive);
        if !alive && command != "close" {
            if self.session.is_none() {
                // Never connected: the request times out on a dead connection.
                return self.no_connection(&words);
            }
            println!("Not connected");
            return Ok(());
        }
        match command.as_str() {
            "close" => {
                if let Some(session) = self.session.as_mut() {
                    if session.is_alive() {
                        session.close();
                    }
                }
                Ok(())
            }
            "ls" => self.ls(&words),
            "get" => self.get(&words),
            "stat" => self.stat(&words),
            "set" => self.set(&words),
            "create" => self.create(&words),
            "delete" => self.delete(&words),
            "deleteall" => self.delete_all(&words),
            "getAcl" => self.get_acl(&words),
            "setAcl" => self.set_acl(&words),
            "sync" => self.sync(&words),
            "addauth" => self.add_auth(&words),
            "addWatch" => self.add_watch(&words),
            "removewatches" => self.remove_watches(&words),
            "config" => self.config(&words),
            "whoami" => self.who_am_i(&words),
            "getEphemerals" => self.get_ephemerals(&words),
            "getAllChildrenNumber" => self.get_all_children_number(&words),
            "redo" => Err(usage_of("redo")),
            other => Err(CliError::new(format!("{other} is not supported by ferrokeeper's cli"))),
        }
    }

    /// With no session at all, a command fails as Java's does when its request times out.
    fn no_connection(&self, words: &[String]) -> CliResult {
        let path = words.iter().skip(1).find(|w| w.starts_with('/')).map(String::as_str);
        Err(CliError::new(format::keeper_exception(err::CONNECTION_LOSS, path)))
    }

    fn redo(&mut self, index: &str) -> CliResult {
        let parsed = if let Some(hex) = index.strip_prefix("0x").or_else(|| index.strip_prefix('#')) {
            i64::from_str_radix(hex, 16).ok()
        } else {
            index.parse::<i64>().ok()
        };
        let Some(i) = parsed else {
            eprintln!(
                "Exception in thread \"main\" java.lang.NumberFormatException: For input string: \"{index}\""
            );
            std::process::exit(1);
        };
        if i < 0 || i as usize >= self.command_count {
            return Err(CliError::new("Command index out of range"));
        }
        let line = self.history.get(&(i as usize)).cloned().unwrap_or_default();
        let words = super::split_line(&line);
        if words.first().map(String::as_str) == Some("redo") {
            return Err(CliError::new("No redoing redos"));
        }
        self.history.insert(self.command_count, line);
        // Java runs the redone command through processCmd (printing its failure), and the
        // redo itself then succeeds.
        self.process(words);
        Ok(())
    }

    fn session(&mut self) -> &mut Session {
        self.session.as_mut().expect("checked alive before running a command")
    }

    fn call(&mut self, request: Request) -> Result<Vec<u8>, KeeperError> {
        self.session().call(&request)
    }

    fn path_arg(words: &Parsed, index: usize, sequential: bool) -> Result<String, CliError> {
        let path = words.args[index].clone();
        format::validate_path(&path, sequential).map_err(CliError::new)?;
        Ok(path)
    }

    fn ls(&mut self, words: &[String]) -> CliResult {
        let parsed = parse_flags(words, "swR")?;
        if parsed.args.len() < 2 {
            return Err(usage_of("ls"));
        }
        let path = Self::path_arg(&parsed, 1, false)?;
        let watch = parsed.has('w');
        if parsed.has('R') {
            return self.visit_subtree(&path, watch);
        }
        let wrap = |e: KeeperError| CliError::new(format::wrapped(e.0, Some(&path)));
        if parsed.has('s') {
            let body = self.call(Request::GetChildren2(GetChildren2Request { path: path.clone(), watch }));
            let mut response: GetChildren2Response = body.and_then(|b| decode(&b)).map_err(wrap)?;
            if watch {
                self.session().shared.add_watch(WatchKind::Child, &path);
            }
            response.children.sort();
            println!("[{}]", response.children.join(", "));
            print!("{}", format::stat(&response.stat));
        } else {
            let body = self.call(Request::GetChildren(GetChildrenRequest { path: path.clone(), watch }));
            let mut response: GetChildrenResponse = body.and_then(|b| decode(&b)).map_err(wrap)?;
            if watch {
                self.session().shared.add_watch(WatchKind::Child, &path);
            }
            response.children.sort();
            println!("[{}]", response.children.join(", "));
        }
        Ok(())
    }

    /// ZKUtil.visitSubTreeDFS: the root, then each node's sorted children, depth first.
    fn visit_subtree(&mut self, root: &str, watch: bool) -> CliResult {
        let wrap = |path: &str| {
            let path = path.to_owned();
            move |e: KeeperError| CliError::new(format::wrapped(e.0, Some(&path)))
        };
        self.call(Request::GetData(GetDataRequest { path: root.to_owned(), watch })).map_err(wrap(root))?;
        if watch {
            self.session().shared.add_watch(WatchKind::Data, root);
        }
        println!("{root}");
        self.visit_children(root, watch)
    }

    fn visit_children(&mut self, path: &str, watch: bool) -> CliResult {
        let body = self.call(Request::GetChildren(GetChildrenRequest { path: path.to_owned(), watch }));
        let mut children = match body.and_then(|b| decode::<GetChildrenResponse>(&b)) {
            Ok(response) => response.children,
            Err(KeeperError(err::NO_NODE)) => return Ok(()),
            Err(e) => return Err(CliError::new(format::wrapped(e.0, Some(path)))),
        };
        if watch {
            self.session().shared.add_watch(WatchKind::Child, path);
        }
        children.sort();
        let child_path =
            |child: &str| if path == "/" { format!("/{child}") } else { format!("{path}/{child}") };
        for child in &children {
            println!("{}", child_path(child));
        }
        for child in &children {
            self.visit_children(&child_path(child), watch)?;
        }
        Ok(())
    }

    fn get(&mut self, words: &[String]) -> CliResult {
        let parsed = parse_flags(words, "sw")?;
        if parsed.args.len() < 2 {
            return Err(usage_of("get"));
        }
        let path = Self::path_arg(&parsed, 1, false)?;
        let watch = parsed.has('w');
        let body = self.call(Request::GetData(GetDataRequest { path: path.clone(), watch }));
        let response: GetDataResponse =
            body.and_then(|b| decode(&b)).map_err(|e| CliError::new(format::wrapped(e.0, Some(&path))))?;
        if watch {
            self.session().shared.add_watch(WatchKind::Data, &path);
        }
        match &response.data {
            Some(data) => println!("{}", String::from_utf8_lossy(data)),
            None => println!("null"),
        }
        if parsed.has('s') {
            print!("{}", format::stat(&response.stat));
        }
        Ok(())
    }

    fn stat(&mut self, words: &[String]) -> CliResult {
        let parsed = parse_flags(words, "w")?;
        if parsed.args.len() < 2 {
            return Err(usage_of("stat"));
        }
        let path = Self::path_arg(&parsed, 1, false)?;
        let watch = parsed.has('w');
        match self.call(Request::Exists(ExistsRequest { path: path.clone(), watch })) {
            Ok(body) => {
                let response: ExistsResponse =
                    decode(&body).map_err(|e| CliError::new(format::wrapped(e.0, Some(&path))))?;
                if watch {
                    self.session().shared.add_watch(WatchKind::Data, &path);
                }
                print!("{}", format::stat(&response.stat));
                Ok(())
            }
            Err(KeeperError(err::NO_NODE)) => {
                if watch {
                    self.session().shared.add_watch(WatchKind::Exist, &path);
                }
                Err(CliError::new(format::wrapped(err::NO_NODE, Some(&path))))
            }
            Err(e) => Err(CliError::new(format::wrapped(e.0, Some(&path)))),
        }
    }

    fn set(&mut self, words: &[String]) -> CliResult {
        let parsed = parse_flags(words, "sv:")?;
        if parsed.args.len() < 3 {
            return Err(usage_of("set"));
        }
        let path = Self::path_arg(&parsed, 1, false)?;
        let data = Bytes::from(parsed.args[2].clone().into_bytes());
        let version = parsed.value('v').map_or(-1, parse_int);
        let body =
            self.call(Request::SetData(SetDataRequest { path: path.clone(), data: Some(data), version }));
        let response: SetDataResponse =
            body.and_then(|b| decode(&b)).map_err(|e| CliError::new(format::wrapped(e.0, Some(&path))))?;
        if parsed.has('s') {
            print!("{}", format::stat(&response.stat));
        }
        Ok(())
    }

    fn create(&mut self, words: &[String]) -> CliResult {
        let parsed = parse_flags(words, "ecst:")?;
        let (e, s, c) = (parsed.has('e'), parsed.has('s'), parsed.has('c'));
        let ttl_flag = parsed.has('t');
        if c && (e || s) {
            return Err(CliError::new(
                "-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.",
            ));
        }
        if parsed.args.len() < 2 {
            return Err(usage_of("create"));
        }
        let ttl: i64 = match parsed.value('t') {
            Some(text) => match text.parse() {
                Ok(ttl) => ttl,
                Err(_) => {
                    eprintln!(
                        "Exception in thread \"main\" java.lang.NumberFormatException: For input string: \"{text}\""
                    );
                    std::process::exit(1);
                }
            },
            None => 0,
        };
        if ttl_flag && e {
            return Err(CliError::new("TTLs cannot be used with Ephemeral znodes"));
        }
        if ttl_flag && c {
            return Err(CliError::new("TTLs cannot be used with Container znodes"));
        }
        if ttl_flag && !(1..=MAX_TTL).contains(&ttl) {
            return Err(CliError::new(format!("ttl must be positive and cannot be larger than: {MAX_TTL}")));
        }
        // CreateMode flags: persistent 0, ephemeral 1, sequential 2, ephemeral sequential 3,
        // container 4, persistent with ttl 5, persistent sequential with ttl 6.
        let flags = match (e, s, c, ttl_flag) {
            (true, true, _, _) => 3,
            (true, false, _, _) => 1,
            (false, true, _, true) => 6,
            (false, true, _, false) => 2,
            (false, false, true, _) => 4,
            (false, false, false, true) => 5,
            (false, false, false, false) => 0,
        };
        let path = Self::path_arg(&parsed, 1, s)?;
        let data = parsed.args.get(2).map(|d| Bytes::from(d.clone().into_bytes()));
        let acl = match parsed.args.get(3) {
            Some(text) => format::parse_acl(text),
            None => vec![Acl::new(jute::consts::perms::ALL, "world", "anyone")],
        };
        if acl.is_empty() {
            // The Java client refuses an empty ACL list before sending anything.
            eprintln!("{}", format::keeper_exception(err::INVALID_ACL, None));
            return Err(CliError::new(format::wrapped(err::INVALID_ACL, None)));
        }
        let request = if ttl_flag {
            Request::CreateTtl(CreateTtlRequest { path: path.clone(), data, acl, flags, ttl })
        } else if c {
            Request::CreateContainer(CreateRequest { path: path.clone(), data, acl, flags })
        } else {
            Request::Create(CreateRequest { path: path.clone(), data, acl, flags })
        };
        let uses_create2 = matches!(request, Request::CreateTtl(_) | Request::CreateContainer(_));
        match self.call(request) {
            Ok(body) => {
                let created = if uses_create2 {
                    decode::<Create2Response>(&body).map(|r| r.path)
                } else {
                    decode::<CreateResponse>(&body).map(|r| r.path)
                }
                .map_err(|e| CliError::new(format::wrapped(e.0, Some(&path))))?;
                eprintln!("Created {created}");
                Ok(())
            }
            Err(KeeperError(err::INVALID_ACL)) => {
                eprintln!("{}", format::keeper_exception(err::INVALID_ACL, Some(&path)));
                Err(CliError::new(format::wrapped(err::INVALID_ACL, Some(&path))))
            }
            Err(KeeperError(err::EPHEMERAL_ON_LOCAL_SESSION)) => {
                eprintln!("Unable to create ephemeral node on a local session");
                Err(CliError::new(format::wrapped(err::EPHEMERAL_ON_LOCAL_SESSION, Some(&path))))
            }
            Err(e) => Err(CliError::new(format::wrapped(e.0, Some(&path)))),
        }
    }

    fn delete(&mut self, words: &[String]) -> CliResult {
        let parsed = parse_flags(words, "v:")?;
        if parsed.args.len() < 2 {
            return Err(usage_of("delete"));
        }
        let path = Self::path_arg(&parsed, 1, false)?;
        let version = parsed.value('v').map_or(-1, parse_int);
        self.call(Request::Delete(DeleteRequest { path: path.clone(), version }))
            .map_err(|e| CliError::new(format::wrapped(e.0, Some(&path))))?;
        Ok(())
    }

    /// ZKUtil.deleteRecursive: the subtree breadth first, deleted leaves first in multi batches.
    fn delete_all(&mut self, words: &[String]) -> CliResult {
        let parsed = parse_flags(words, "b:")?;
        if parsed.args.len() < 2 {
            return Err(usage_of("deleteall"));
        }
        let path = Self::path_arg(&parsed, 1, false)?;
        let batch = parsed.value('b').map_or(1000, parse_int).max(1) as usize;
        let mut tree = vec![path.clone()];
        let mut queue = VecDeque::from([path.clone()]);
        while let Some(node) = queue.pop_front() {
            let body =
                self.call(Request::GetChildren(GetChildrenRequest { path: node.clone(), watch: false }));
            let response: GetChildrenResponse = body
                .and_then(|b| decode(&b))
                .map_err(|e| CliError::new(format::wrapped(e.0, Some(&node))))?;
            for child in response.children {
                let child_path = if node == "/" { format!("/{child}") } else { format!("{node}/{child}") };
                queue.push_back(child_path.clone());
                tree.push(child_path);
            }
        }
        let mut success = true;
        let deletes: Vec<MultiOp> = tree
            .iter()
            .rev()
            .map(|p| MultiOp::Delete(DeleteRequest { path: p.clone(), version: -1 }))
            .collect();
        for chunk in deletes.chunks(batch) {
            match self.call(Request::Multi(chunk.to_vec())) {
                Ok(_) => {}
                Err(KeeperError(code)) if code == err::CONNECTION_LOSS => {
                    return Err(CliError::new(format::keeper_exception(code, None)));
                }
                Err(_) => success = false,
            }
        }
        if !success {
            eprintln!("Failed to delete some node(s) in the subtree!");
        }
        Ok(())
    }

    fn get_acl(&mut self, words: &[String]) -> CliResult {
        let parsed = parse_flags(words, "s")?;
        if parsed.args.len() < 2 {
            return Err(usage_of("getAcl"));
        }
        let path = Self::path_arg(&parsed, 1, false)?;
        let body = self.call(Request::GetAcl(GetAclRequest { path: path.clone() }));
        let response: GetAclResponse =
            body.and_then(|b| decode(&b)).map_err(|e| CliError::new(format::wrapped(e.0, Some(&path))))?;
        for acl in &response.acl {
            print!("{}", format::acl(acl));
        }
        if parsed.has('s') {
            print!("{}", format::stat(&response.stat));
        }
        Ok(())
    }

    fn set_acl(&mut self, words: &[String]) -> CliResult {
        let parsed = parse_flags(words, "sv:R")?;
        if parsed.args.len() < 3 {
            return Err(usage_of("setAcl"));
        }
        let path = Self::path_arg(&parsed, 1, false)?;
        let acl = format::parse_acl(&parsed.args[2]);
        let version = parsed.value('v').map_or(-1, parse_int);
        if parsed.has('R') {
            // ZKUtil.visitSubTreeDFS with an asynchronous setACL per node: failures are printed
            // (without a newline, as Java's callback prints them) and do not fail the command.
            let mut nodes = Vec::new();
            self.collect_subtree(&path, &mut nodes)?;
            for node in nodes {
                let request =
                    Request::SetAcl(SetAclRequest { path: node.clone(), acl: acl.clone(), version });
                if let Err(e) = self.call(request) {
                    print!("{}", format::keeper_exception(e.0, Some(&node)));
                }
            }
            return Ok(());
        }
        let body = self.call(Request::SetAcl(SetAclRequest { path: path.clone(), acl, version }));
        let response: SetAclResponse =
            body.and_then(|b| decode(&b)).map_err(|e| CliError::new(format::wrapped(e.0, Some(&path))))?;
        if parsed.has('s') {
            print!("{}", format::stat(&response.stat));
        }
        Ok(())
    }

    /// Paths in visitSubTreeDFS order (root, each node's sorted children, depth first).
    fn collect_subtree(&mut self, root: &str, out: &mut Vec<String>) -> CliResult {
        self.call(Request::GetData(GetDataRequest { path: root.to_owned(), watch: false }))
            .map_err(|e| CliError::new(format::wrapped(e.0, Some(root))))?;
        out.push(root.to_owned());
        self.collect_children(root, out)
    }

    fn collect_children(&mut self, path: &str, out: &mut Vec<String>) -> CliResult {
        let body =
            self.call(Request::GetChildren(GetChildrenRequest { path: path.to_owned(), watch: false }));
        let mut children = match body.and_then(|b| decode::<GetChildrenResponse>(&b)) {
            Ok(response) => response.children,
            Err(KeeperError(err::NO_NODE)) => return Ok(()),
            Err(e) => return Err(CliError::new(format::wrapped(e.0, Some(path)))),
        };
        children.sort();
        let child_path =
            |child: &str| if path == "/" { format!("/{child}") } else { format!("{path}/{child}") };
        out.extend(children.iter().map(|c| child_path(c)));
        for child in &children {
            self.collect_children(&child_path(child), out)?;
        }
        Ok(())
    }

    fn sync(&mut self, words: &[String]) -> CliResult {
        let parsed = parse_flags(words, "")?;
        if parsed.args.len() < 2 {
            return Err(usage_of("sync"));
        }
        let path = Self::path_arg(&parsed, 1, false)?;
        match self.call(Request::Sync(SyncRequest { path })) {
            Ok(_) => println!("Sync is OK"),
            Err(KeeperError(code)) => println!("Sync has failed. rc={code}"),
        }
        Ok(())
    }

    fn add_auth(&mut self, words: &[String]) -> CliResult {
        let parsed = parse_flags(words, "")?;
        if parsed.args.len() < 2 {
            return Err(usage_of("addauth"));
        }
        let auth = parsed.args.get(2).map(|a| Bytes::from(a.clone().into_bytes())).unwrap_or_default();
        let packet = AuthPacket { r#type: 0, scheme: parsed.args[1].clone(), auth };
        if let Err(KeeperError(code)) = self.call(Request::Auth(packet)) {
            if code == err::AUTH_FAILED {
                let shared = self.session().shared.clone();
                print_event(&shared, keeper_state::AUTH_FAILED, event_type::NONE, None);
            }
        }
        Ok(())
    }

    fn add_watch(&mut self, words: &[String]) -> CliResult {
        let parsed = parse_flags(words, "m:")?;
        if parsed.args.len() != 2 {
            return Err(usage_of("addWatch"));
        }
        let mode = match parsed.value('m') {
            None | Some("PERSISTENT_RECURSIVE") => add_watch_mode::PERSISTENT_RECURSIVE,
            Some("PERSISTENT") => add_watch_mode::PERSISTENT,
            Some(_) => return Err(usage_of("addWatch")),
        };
        let path = Self::path_arg(&parsed, 1, false)?;
        self.call(Request::AddWatch(AddWatchRequest { path: path.clone(), mode }))
            .map_err(|e| CliError::new(format::wrapped(e.0, Some(&path))))?;
        let kind = if mode == add_watch_mode::PERSISTENT {
            WatchKind::Persistent
        } else {
            WatchKind::PersistentRecursive
        };
        self.session().shared.add_watch(kind, &path);
        Ok(())
    }

    /// ZooKeeper.removeAllWatches: the client's own tables decide first (NoWatcher without a
    /// round trip), then the server; removed watches are announced as events.
    fn remove_watches(&mut self, words: &[String]) -> CliResult {
        let parsed = parse_flags(words, "cdal")?;
        if parsed.args.len() < 2 {
            return Err(usage_of("removewatches"));
        }
        let path = Self::path_arg(&parsed, 1, false)?;
        let watcher_type = if parsed.has('c') {
            1
        } else if parsed.has('d') {
            2
        } else {
            3
        };
        let local = parsed.has('l');
        let shared = self.session().shared.clone();
        let (child, data, persistent) = match watcher_type {
            1 => (true, false, true),
            2 => (false, true, true),
            _ => (true, true, true),
        };
        let kinds_for = |kind: WatchKind| match kind {
            WatchKind::Child => child,
            WatchKind::Data | WatchKind::Exist => data,
            WatchKind::Persistent | WatchKind::PersistentRecursive => persistent,
        };
        let all = [
            WatchKind::Child,
            WatchKind::Data,
            WatchKind::Exist,
            WatchKind::Persistent,
            WatchKind::PersistentRecursive,
        ];
        let present: Vec<WatchKind> =
            all.into_iter().filter(|k| kinds_for(*k) && shared.has_watch(*k, &path)).collect();
        if present.is_empty() {
            eprintln!("{}", format::keeper_exception(err::NO_WATCHER, Some(&path)));
            return Ok(());
        }
        if !local {
            let request =
                Request::RemoveWatches(RemoveWatchesRequest { path: path.clone(), r#type: watcher_type });
            if let Err(KeeperError(code)) = self.call(request) {
                if code == err::NO_WATCHER {
                    eprintln!("{}", format::keeper_exception(code, Some(&path)));
                    return Ok(());
                }
                return Err(CliError::new(format::wrapped(code, Some(&path))));
            }
        }
        let mut removed_child = false;
        let mut removed_data = false;
        let mut removed_persistent = false;
        for kind in present {
            shared.remove_watch(kind, &path);
            match kind {
                WatchKind::Child => removed_child = true,
                WatchKind::Data | WatchKind::Exist => removed_data = true,
                WatchKind::Persistent | WatchKind::PersistentRecursive => removed_persistent = true,
            }
        }
        for (removed, kind) in [
            (removed_child, event_type::CHILD_WATCH_REMOVED),
            (removed_data, event_type::DATA_WATCH_REMOVED),
            (removed_persistent, event_type::PERSISTENT_WATCH_REMOVED),
        ] {
            if removed {
                print_event(&shared, keeper_state::SYNC_CONNECTED, kind, Some(&path));
            }
        }
        Ok(())
    }

    fn config(&mut self, words: &[String]) -> CliResult {
        let parsed = parse_flags(words, "cws")?;
        let watch = parsed.has('w');
        let path = "/zookeeper/config";
        let body = self.call(Request::GetData(GetDataRequest { path: path.to_owned(), watch }));
        let response: GetDataResponse =
            body.and_then(|b| decode(&b)).map_err(|e| CliError::new(format::wrapped(e.0, Some(path))))?;
        if watch {
            self.session().shared.add_watch(WatchKind::Data, path);
        }
        let text =
            response.data.as_ref().map(|d| String::from_utf8_lossy(d).into_owned()).unwrap_or_default();
        if parsed.has('c') {
            // ConfigUtils.getClientConfigStr: the version, then each server's client address.
            let mut version = String::new();
            let mut clients = Vec::new();
            for line in text.lines() {
                if let Some(v) = line.strip_prefix("version=") {
                    version = v.to_owned();
                } else if let Some((_, client)) = line.split_once(';') {
                    clients.push(client.to_owned());
                }
            }
            println!("{version} {}", clients.join(","));
        } else {
            println!("{text}");
        }
        if parsed.has('s') {
            print!("{}", format::stat(&response.stat));
        }
        Ok(())
    }

    fn who_am_i(&mut self, _words: &[String]) -> CliResult {
        let body = self.call(Request::WhoAmI);
        let response: WhoAmIResponse =
            body.and_then(|b| decode(&b)).map_err(|e| CliError::new(format::wrapped(e.0, None)))?;
        println!("Auth scheme: User");
        for info in &response.client_info {
            println!("{}: {}", info.auth_scheme, info.user);
        }
        Ok(())
    }

    fn get_ephemerals(&mut self, words: &[String]) -> CliResult {
        let parsed = parse_flags(words, "")?;
        let path = if parsed.args.len() > 1 { Self::path_arg(&parsed, 1, false)? } else { "/".to_owned() };
        let body = self.call(Request::GetEphemerals(GetEphemeralsRequest { prefix_path: path.clone() }));
        let response: GetEphemeralsResponse =
            body.and_then(|b| decode(&b)).map_err(|e| CliError::new(format::wrapped(e.0, Some(&path))))?;
        println!("[{}]", response.ephemerals.join(", "));
        Ok(())
    }

    fn get_all_children_number(&mut self, words: &[String]) -> CliResult {
        let parsed = parse_flags(words, "")?;
        if parsed.args.len() < 2 {
            return Err(usage_of("getAllChildrenNumber"));
        }
        let path = Self::path_arg(&parsed, 1, false)?;
        let body =
            self.call(Request::GetAllChildrenNumber(GetAllChildrenNumberRequest { path: path.clone() }));
        let response: GetAllChildrenNumberResponse =
            body.and_then(|b| decode(&b)).map_err(|e| CliError::new(format::wrapped(e.0, Some(&path))))?;
        println!("{}", response.total_number);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn flags_parse_like_commons_cli() {
        let parsed = parse_flags(&words("create -s -e /a data"), "ecst:").expect("parses");
        assert!(parsed.has('s') && parsed.has('e') && !parsed.has('c'));
        assert_eq!(parsed.args, vec!["create", "/a", "data"]);
        let parsed = parse_flags(&words("create -t 100 /a"), "ecst:").expect("parses");
        assert_eq!(parsed.value('t'), Some("100"));
        let parsed = parse_flags(&words("ls -sR /"), "swR").expect("parses");
        assert!(parsed.has('s') && parsed.has('R'));
        let error = parse_flags(&words("ls -x /"), "swR").expect_err("unknown flag");
        assert_eq!(
            error.message,
            "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x"
        );
        assert!(parse_flags(&words("delete /a -v"), "v:").is_err());
    }

    #[test]
    fn usage_lines_match_zkcli() {
        assert_eq!(usage_of("create").message, "create [-s] [-e] [-c] [-t ttl] path [data] [acl]");
        assert_eq!(usage_of("sync").message, "sync path");
        let names: Vec<&str> = USAGE.iter().map(|(n, _)| *n).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted, "usage is printed sorted");
    }
}
