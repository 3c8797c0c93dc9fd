//! A small blocking ZooKeeper client for the CLI: one session, requests one at a time, a reader
//! thread that prints watch events as they arrive (zkCli's default watcher), a pinger that keeps
//! an idle session alive, and the client-side watch tables `removewatches` consults.

use jute::consts::{err, event_type, keeper_state, op, xid};
use jute::proto::{ConnectRequest, ConnectResponse, ReplyHeader, RequestHeader, WatcherEvent};
use jute::request::Request;
use jute::{Bytes, Field, Reader};
use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The largest reply accepted (jute.maxbuffer plus slack).
const MAX_FRAME: usize = 4 * 1024 * 1024;

/// A request failed: a ZooKeeper error code (KeeperException.Code), ConnectionLoss included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeeperError(pub i32);

/// Which client-side table a watch lives in (ZKWatchManager's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatchKind {
    Data,
    Exist,
    Child,
    Persistent,
    PersistentRecursive,
}

/// State shared with the reader thread.
#[derive(Debug)]
pub struct Shared {
    pub print_watches: AtomicBool,
    alive: AtomicBool,
    /// Set once we close the session ourselves: the server's hang-up is then no news.
    closing: AtomicBool,
    watches: Mutex<HashMap<WatchKind, BTreeSet<String>>>,
}

impl Shared {
    pub fn add_watch(&self, kind: WatchKind, path: &str) {
        self.watches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(kind)
            .or_default()
            .insert(path.to_owned());
    }

    pub fn has_watch(&self, kind: WatchKind, path: &str) -> bool {
        self.watches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&kind)
            .is_some_and(|set| set.contains(path))
    }

    pub fn remove_watch(&self, kind: WatchKind, path: &str) -> bool {
        self.watches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&kind)
            .is_some_and(|set| set.remove(path))
    }

    /// One-shot watches fire once: drop those an event consumed (ZKWatchManager.materialize).
    fn on_event(&self, kind: i32, path: &str) {
        let mut watches = self.watches.lock().unwrap_or_else(|e| e.into_inner());
        let mut drop = |k: WatchKind| {
            if let Some(set) = watches.get_mut(&k) {
                set.remove(path);
            }
        };
        match kind {
            event_type::NODE_CREATED | event_type::NODE_DATA_CHANGED => {
                drop(WatchKind::Data);
                drop(WatchKind::Exist);
            }
            event_type::NODE_CHILDREN_CHANGED => drop(WatchKind::Child),
            event_type::NODE_DELETED => {
                drop(WatchKind::Data);
                drop(WatchKind::Exist);
                drop(WatchKind::Child);
            }
            _ => {}
        }
    }
}

/// zkCli's MyWatcher: two printlns, each starting with a newline.
pub fn print_event(shared: &Shared, state: i32, kind: i32, path: Option<&str>) {
    if !shared.print_watches.load(Ordering::Relaxed) {
        return;
    }
    let text = format!(
        "WatchedEvent state:{} type:{} path:{}",
        state_name(state),
        event_name(kind),
        path.unwrap_or("null")
    );
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let _ = writeln!(out, "\nWATCHER::");
    let _ = writeln!(out, "\n{text}");
    let _ = out.flush();
}

pub fn state_name(state: i32) -> &'static str {
    match state {
        keeper_state::DISCONNECTED => "Disconnected",
        keeper_state::SYNC_CONNECTED => "SyncConnected",
        keeper_state::AUTH_FAILED => "AuthFailed",
        keeper_state::CONNECTED_READ_ONLY => "ConnectedReadOnly",
        keeper_state::EXPIRED => "Expired",
        keeper_state::CLOSED => "Closed",
        6 => "SaslAuthenticated",
        _ => "Unknown",
    }
}

pub fn event_name(kind: i32) -> &'static str {
    match kind {
        event_type::NONE => "None",
        event_type::NODE_CREATED => "NodeCreated",
        event_type::NODE_DELETED => "NodeDeleted",
        event_type::NODE_DATA_CHANGED => "NodeDataChanged",
        event_type::NODE_CHILDREN_CHANGED => "NodeChildrenChanged",
        event_type::DATA_WATCH_REMOVED => "DataWatchRemoved",
        event_type::CHILD_WATCH_REMOVED => "ChildWatchRemoved",
        event_type::PERSISTENT_WATCH_REMOVED => "PersistentWatchRemoved",
        _ => "Unknown",
    }
}

/// A live session.
#[derive(Debug)]
pub struct Session {
    writer: Arc<Mutex<TcpStream>>,
    replies: mpsc::Receiver<(ReplyHeader, Vec<u8>)>,
    pub shared: Arc<Shared>,
    next_xid: i32,
    timeout: Duration,
    pub session_id: i64,
    last_sent: Arc<Mutex<Instant>>,
}

fn frame(header: Option<&RequestHeader>, body: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = vec![0; 4];
    if let Some(header) = header {
        header.write(&mut out);
    }
    body(&mut out);
    let length = (out.len() - 4) as i32;
    out[..4].copy_from_slice(&length.to_be_bytes());
    out
}

fn read_frame(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut prefix = [0u8; 4];
    stream.read_exact(&mut prefix)?;
    let length = i32::from_be_bytes(prefix);
    if length < 0 || length as usize > MAX_FRAME {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "bad frame length"));
    }
    let mut body = vec![0; length as usize];
    stream.read_exact(&mut body)?;
    Ok(body)
}

/// `host:port[,host:port…][/chroot]` → addresses, in order (Java shuffles; one server is the
/// common case and order keeps runs reproducible).
pub fn resolve(connect_string: &str) -> Vec<SocketAddr> {
    let hosts = connect_string.split('/').next().unwrap_or("");
    hosts
        .split(',')
        .filter(|h| !h.trim().is_empty())
        .flat_map(|host| {
            let host = host.trim();
            let with_port = if host.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
                host.to_owned()
            } else {
                format!("{host}:2181")
            };
            with_port.to_socket_addrs().map(|a| a.collect::<Vec<_>>()).unwrap_or_default()
        })
        .collect()
}

impl Session {
    /// Connects to the first server that answers within `timeout`, retrying over the list until
    /// the timeout is spent (as the Java client keeps trying until its requests time out).
    pub fn connect(connect_string: &str, timeout: Duration, read_only: bool) -> Option<Session> {
        let deadline = Instant::now() + timeout;
        loop {
            for address in resolve(connect_string) {
                if let Some(session) = Self::connect_one(address, timeout, read_only) {
                    return Some(session);
                }
            }
            if Instant::now() + Duration::from_millis(500) >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn connect_one(address: SocketAddr, timeout: Duration, read_only: bool) -> Option<Session> {
        let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5).min(timeout)).ok()?;
        let _ = stream.set_nodelay(true);
        stream.set_read_timeout(Some(timeout)).ok()?;
        let request = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out: timeout.as_millis().min(i32::MAX as u128) as i32,
            session_id: 0,
            passwd: Bytes::from_static(&[0; 16]),
            read_only: Some(read_only),
        };
        stream.write_all(&frame(None, |out| request.write(out))).ok()?;
        let reply = read_frame(&mut stream).ok()?;
        let response = ConnectResponse::read(&mut Reader::new(&reply)).ok()?;
        if response.session_id == 0 || response.time_out <= 0 {
            return None;
        }
        stream.set_read_timeout(None).ok()?;
        let negotiated = Duration::from_millis(response.time_out as u64);
        let shared = Arc::new(Shared {
            print_watches: AtomicBool::new(true),
            alive: AtomicBool::new(true),
            closing: AtomicBool::new(false),
            watches: Mutex::new(HashMap::new()),
        });
        let (reply_tx, replies) = mpsc::channel();
        let reader = stream.try_clone().ok()?;
        let writer = Arc::new(Mutex::new(stream));
        let last_sent = Arc::new(Mutex::new(Instant::now()));
        spawn_reader(reader, reply_tx, shared.clone());
        spawn_pinger(writer.clone(), shared.clone(), last_sent.clone(), negotiated);
        let state = if response.read_only == Some(true) {
            keeper_state::CONNECTED_READ_ONLY
        } else {
            keeper_state::SYNC_CONNECTED
        };
        print_event(&shared, state, event_type::NONE, None);
        Some(Session {
            writer,
            replies,
            shared,
            next_xid: 1,
            timeout: negotiated.max(Duration::from_secs(1)),
            session_id: response.session_id,
            last_sent,
        })
    }

    pub fn is_alive(&self) -> bool {
        self.shared.alive.load(Ordering::Relaxed)
    }

    fn send(&mut self, header: &RequestHeader, request: &Request) -> Result<(), KeeperError> {
        let bytes = frame(Some(header), |out| request.write_body(out));
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        writer.write_all(&bytes).map_err(|_| KeeperError(err::CONNECTION_LOSS))?;
        *self.last_sent.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        Ok(())
    }

    /// Sends `request` and waits for its reply; Ok is the reply body after the header.
    pub fn call(&mut self, request: &Request) -> Result<Vec<u8>, KeeperError> {
        if !self.is_alive() {
            return Err(KeeperError(err::CONNECTION_LOSS));
        }
        let (xid_value, opcode) = match request {
            Request::Auth(_) => (xid::AUTH, op::AUTH),
            other => {
                let x = self.next_xid;
                self.next_xid += 1;
                (x, other.opcode())
            }
        };
        self.send(&RequestHeader { xid: xid_value, r#type: opcode }, request)?;
        let deadline = Instant::now() + self.timeout * 2;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.replies.recv_timeout(left) {
                Ok((header, body)) if header.xid == xid_value => {
                    return if header.err == err::OK { Ok(body) } else { Err(KeeperError(header.err)) };
                }
                Ok(_) => continue,
                Err(_) => return Err(KeeperError(err::CONNECTION_LOSS)),
            }
        }
    }

    /// Ends the session (closeSession) and prints the Closed event, as ZooKeeper.close does.
    pub fn close(&mut self) {
        self.shared.closing.store(true, Ordering::Relaxed);
        if self.is_alive() {
            let _ = self.call(&Request::CloseSession);
        }
        self.shared.alive.store(false, Ordering::Relaxed);
        if let Ok(writer) = self.writer.lock() {
            let _ = writer.shutdown(std::net::Shutdown::Both);
        }
        print_event(&self.shared, keeper_state::CLOSED, event_type::NONE, None);
    }
}

fn spawn_reader(mut stream: TcpStream, replies: mpsc::Sender<(ReplyHeader, Vec<u8>)>, shared: Arc<Shared>) {
    std::thread::spawn(move || {
        while let Ok(frame) = read_frame(&mut stream) {
            let mut reader = Reader::new(&frame);
            let Ok(header) = ReplyHeader::read(&mut reader) else { break };
            let body = reader.rest().to_vec();
            match header.xid {
                xid::NOTIFICATION => {
                    if let Ok(event) = WatcherEvent::read(&mut Reader::new(&body)) {
                        shared.on_event(event.r#type, &event.path);
                        print_event(&shared, event.state, event.r#type, Some(&event.path));
                    }
                }
                xid::PING => {}
                _ => {
                    if replies.send((header, body)).is_err() {
                        break;
                    }
                }
            }
        }
        let was_alive = shared.alive.swap(false, Ordering::Relaxed);
        if was_alive && !shared.closing.load(Ordering::Relaxed) {
            print_event(&shared, keeper_state::DISCONNECTED, event_type::NONE, None);
        }
    });
}

fn spawn_pinger(
    writer: Arc<Mutex<TcpStream>>,
    shared: Arc<Shared>,
    last_sent: Arc<Mutex<Instant>>,
    session_timeout: Duration,
) {
    let interval = (session_timeout / 3).max(Duration::from_millis(100));
    std::thread::spawn(move || {
        let ping = frame(Some(&RequestHeader { xid: xid::PING, r#type: op::PING }), |_| {});
        while shared.alive.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
            let idle = last_sent.lock().map(|t| t.elapsed()).unwrap_or_default();
            if idle >= interval {
                let mut stream = writer.lock().unwrap_or_else(|e| e.into_inner());
                if stream.write_all(&ping).is_err() {
                    return;
                }
                *last_sent.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
            }
        }
    });
}
