//! Test support: start Java ZooKeeper or ferrokeeper on a free loopback port, and a small
//! synchronous client built on the jute crate.
#![allow(dead_code)]

use jute::consts::op;
use jute::proto::*;
use jute::request::Request;
use jute::{Field, Reader, Record};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port that is free now, taken below the kernel's ephemeral range (32768-60999 on Linux): a
/// port the kernel hands out may become the source port of some outgoing connection before the
/// server binds it. Each test process walks its own stretch of the range.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = (std::process::id().wrapping_mul(7919)) % 22_000;
    for _ in 0..22_000 {
        let offset = (start + NEXT.fetch_add(1, Ordering::Relaxed)) % 22_000;
        let port = 10_000 + offset as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port below the ephemeral range")
}

/// A server process that is killed when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub address: SocketAddr,
    pub dir: tempfile::TempDir,
    pub kind: &'static str,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

fn write_config(dir: &Path, port: u16, extra: &str) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let config = dir.join("zoo.cfg");
    let text = format!(
        "tickTime=2000\ndataDir={}\nclientPort={}\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\nadmin.enableServer=false\nextendedTypesEnabled=true\n{}",
        data.display(),
        port,
        extra
    );
    std::fs::write(&config, text).expect("write zoo.cfg");
    config
}

fn wait_until_serving(address: SocketAddr, process: &mut ServerProcess) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = process.child.try_wait() {
            panic!("{} server exited early with {status}:\n{}", process.kind, process.log());
        }
        // Java answers ruok before it serves; srvr prints a Mode line only once it serves.
        if four_letter(address, "srvr").is_some_and(|text| text.contains("Mode:")) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{} server did not start:\n{}", process.kind, process.log());
}

pub fn start_ferrokeeper(extra_config: &str) -> ServerProcess {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let config = write_config(dir.path(), port, extra_config);
    let log = std::fs::File::create(dir.path().join("server.log")).expect("log");
    let child = Command::new(env!("CARGO_BIN_EXE_ferrokeeper"))
        .arg("serve")
        .arg(&config)
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn ferrokeeper");
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut process = ServerProcess { child, address, dir, kind: "ferrokeeper" };
    wait_until_serving(address, &mut process);
    process
}

/// Apache ZooKeeper from Debian's package, or None when it is not installed and
/// FK_REQUIRE_JAVA is not set.
pub fn start_java(extra_config: &str) -> Option<ServerProcess> {
    let installed = Path::new("/usr/share/java/zookeeper.jar").exists() && which("java");
    if !installed {
        if std::env::var("FK_REQUIRE_JAVA").is_ok() {
            panic!(
                "FK_REQUIRE_JAVA is set but Apache ZooKeeper (Debian's zookeeper package) is not installed"
            );
        }
        eprintln!("Apache ZooKeeper not installed: skipping the Java side");
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let config = write_config(dir.path(), port, extra_config);
    let log = std::fs::File::create(dir.path().join("server.log")).expect("log");
    let child = Command::new("java")
        .arg("-Dzookeeper.extendedTypesEnabled=true")
        .arg("-Dzookeeper.admin.enableServer=false")
        .arg("-Xmx256m")
        .arg("-cp")
        .arg("/usr/share/java/*")
        .arg("org.apache.zookeeper.server.quorum.QuorumPeerMain")
        .arg(&config)
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn java");
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut process = ServerProcess { child, address, dir, kind: "java" };
    wait_until_serving(address, &mut process);
    Some(process)
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
        .unwrap_or(false)
}

/// Sends a four-letter word and returns the whole answer.
pub fn four_letter(address: SocketAddr, word: &str) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(word.as_bytes()).ok()?;
    let mut out = String::new();
    stream.read_to_string(&mut out).ok()?;
    Some(out)
}

/// One reply: header and raw body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub header: ReplyHeader,
    pub body: Vec<u8>,
}

/// A minimal synchronous client: one request at a time, notifications collected on the side.
pub struct Client {
    pub stream: TcpStream,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    pub timeout_ms: i32,
    next_xid: i32,
    pub events: Vec<WatcherEvent>,
}

pub fn write_frame(stream: &mut TcpStream, payload: &[u8]) -> std::io::Result<()> {
    let mut framed = Vec::with_capacity(payload.len() + 4);
    jute::proto::put_frame(&mut framed, payload);
    stream.write_all(&framed)
}

pub fn read_frame(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut prefix = [0u8; 4];
    stream.read_exact(&mut prefix)?;
    let length = i32::from_be_bytes(prefix);
    if !(0..=16 << 20).contains(&length) {
        return Err(std::io::Error::other(format!("bad frame length {length}")));
    }
    let mut payload = vec![0u8; length as usize];
    stream.read_exact(&mut payload)?;
    Ok(payload)
}

impl Client {
    pub fn connect(address: SocketAddr) -> Client {
        Self::connect_with(address, 0, vec![0; 16], 30_000).expect("connect")
    }

    pub fn connect_with(
        address: SocketAddr,
        session_id: i64,
        passwd: Vec<u8>,
        timeout_ms: i32,
    ) -> std::io::Result<Client> {
        let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.set_nodelay(true)?;
        let request = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out: timeout_ms,
            session_id,
            passwd: passwd.into(),
            read_only: Some(false),
        };
        write_frame(&mut stream, &request.encode())?;
        let response = ConnectResponse::decode(&read_frame(&mut stream)?)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Client {
            stream,
            session_id: response.session_id,
            passwd: response.passwd.to_vec(),
            timeout_ms: response.time_out,
            next_xid: 1,
            events: Vec::new(),
        })
    }

    /// Sends a request with the next xid and waits for its reply.
    pub fn call(&mut self, request: &Request) -> std::io::Result<Reply> {
        let xid = match request {
            Request::Ping => jute::consts::xid::PING,
            Request::Auth(_) => jute::consts::xid::AUTH,
            _ => {
                self.next_xid += 1;
                self.next_xid - 1
            }
        };
        self.call_raw(xid, request.opcode(), &{
            let mut body = Vec::new();
            request.write_body(&mut body);
            body
        })
    }

    /// Sends a request and waits at most `wait` for its reply (Java never answers a successful
    /// standalone `check`).
    pub fn call_within(&mut self, request: &Request, wait: Duration) -> std::io::Result<Option<Reply>> {
        self.stream.set_read_timeout(Some(wait))?;
        let result = self.call(request);
        self.stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        match result {
            Ok(reply) => Ok(Some(reply)),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    pub fn call_raw(&mut self, xid: i32, opcode: i32, body: &[u8]) -> std::io::Result<Reply> {
        let mut payload = Vec::new();
        RequestHeader { xid, r#type: opcode }.write(&mut payload);
        payload.extend_from_slice(body);
        write_frame(&mut self.stream, &payload)?;
        loop {
            let frame = read_frame(&mut self.stream)?;
            let mut reader = Reader::new(&frame);
            let header = ReplyHeader::read(&mut reader).map_err(|e| std::io::Error::other(e.to_string()))?;
            if header.xid == jute::consts::xid::NOTIFICATION {
                let event =
                    WatcherEvent::decode(reader.rest()).map_err(|e| std::io::Error::other(e.to_string()))?;
                self.events.push(event);
                continue;
            }
            if header.xid != xid {
                return Err(std::io::Error::other(format!("xid mismatch: sent {xid}, got {}", header.xid)));
            }
            return Ok(Reply { header, body: reader.rest().to_vec() });
        }
    }

    /// Reads notifications that arrive within `wait`.
    pub fn drain_events(&mut self, wait: Duration) {
        let _ = self.stream.set_read_timeout(Some(wait));
        while let Ok(frame) = read_frame(&mut self.stream) {
            let mut reader = Reader::new(&frame);
            if let Ok(header) = ReplyHeader::read(&mut reader) {
                if header.xid == jute::consts::xid::NOTIFICATION {
                    if let Ok(event) = WatcherEvent::decode(reader.rest()) {
                        self.events.push(event);
                    }
                }
            }
        }
        let _ = self.stream.set_read_timeout(Some(Duration::from_secs(10)));
    }

    pub fn close(mut self) {
        let _ = self.call(&Request::CloseSession);
    }
}

/// The opcode a request is sent with.
pub fn opcode_of(request: &Request) -> i32 {
    request.opcode()
}

pub const OPEN: fn() -> Vec<jute::records::Acl> = || vec![jute::records::Acl::new(31, "world", "anyone")];

pub fn create(path: &str, data: &[u8], flags: i32) -> Request {
    Request::Create(CreateRequest { path: path.into(), data: Some(data.to_vec().into()), acl: OPEN(), flags })
}

pub fn create2(path: &str, data: &[u8], flags: i32) -> Request {
    Request::Create2(CreateRequest {
        path: path.into(),
        data: Some(data.to_vec().into()),
        acl: OPEN(),
        flags,
    })
}

pub fn is_op(request: &Request, opcode: i32) -> bool {
    request.opcode() == opcode && opcode != op::ERROR
}
