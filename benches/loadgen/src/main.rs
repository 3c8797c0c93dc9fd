//! `loadgen`: a load generator for any ZooKeeper-compatible server (ferrokeeper, Apache ZooKeeper).
//!
//! It is a binary, never a timed test. It opens `--sessions` client sessions (spread round-robin
//! over `--servers`, which must all be loopback addresses), keeps `--inflight` requests in flight
//! on each (requests are pipelined; ZooKeeper answers a session in order, so the oldest send time
//! belongs to the next reply), and reports ops/s and p50/p99/p999 latency from an hdrhistogram.
//!
//! ```text
//! loadgen --servers 127.0.0.1:2181 --op setdata --sessions 32 --inflight 8 --value-size 100 \
//!         --duration 10 --warmup 2
//! ```
//!
//! Closed loop by default (a new request leaves as soon as a reply frees a slot). With `--rate R`
//! the load is open loop at R ops/s in total: requests are scheduled at fixed intervals per session
//! and latency is measured from the scheduled time, so queueing behind a slow server counts
//! (no coordinated omission). That is what "p99 at the same offered load" compares.
//!
//! Every run is bounded: `--duration` (at most one hour) and `--max-ops`; a server that stops
//! answering for `--stall-timeout` seconds ends the run with an error.
//!
//! Before the load, one session creates the working set (ignoring NodeExists, so runs can share
//! it): `/fkbench/n0..n{nodes-1}` with values of `--value-size` bytes (setData/getData/exists/multi
//! targets), `/fkbench/c` with `--children` children (getChildren target) and `/fkbench/w`
//! (parent of the znodes the create load makes). Each load session then sends `sync /fkbench` so a
//! follower it is connected to has the working set before the first read.
//!
//! The result is printed as one table row and, with `--json`, as one JSON line (what
//! benches/compare.py reads). `--latency-log FILE` also writes every measured request as a line
//! `<sent, µs since the Unix epoch> <latency µs>`, so a caller can split one run's requests by what
//! the server was doing when they were in flight (compare.py: whether a snapshot was being written).

use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use jute::consts::op;
use jute::proto::{
    CheckVersionRequest, ConnectRequest, ConnectResponse, CreateRequest, ExistsRequest, GetChildrenRequest,
    GetDataRequest, ReplyHeader, RequestHeader, SetDataRequest, SyncRequest,
};
use jute::records::Acl;
use jute::request::{encode_multi, MultiOp};
use jute::{Bytes, Field, Reader, Record};
use std::collections::VecDeque;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// ZooKeeper error codes the load generator treats specially.
const NODE_EXISTS: i32 = -110;
/// The working set lives under this path.
const ROOT: &str = "/fkbench";
/// The largest reply frame accepted (jute.maxbuffer's default).
const FRAME_BYTES_MAX: usize = 1024 * 1024 + 1024;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Operation {
    /// create a new persistent znode under /fkbench/w per request
    Create,
    /// setData on a working-set znode (version -1)
    Setdata,
    /// getData of a working-set znode
    Getdata,
    /// exists of a working-set znode
    Exists,
    /// getChildren of /fkbench/c
    Getchildren,
    /// multi of check(/fkbench) + setData(n_i) + setData(n_j)
    Multi,
    /// getData with probability --read-pct, setData otherwise (90/10 by default)
    Mixed,
    /// create the working set only
    Setup,
}

#[derive(Parser, Debug)]
#[command(name = "loadgen", about = "Drive a ZooKeeper-compatible server and report ops/s and latency")]
struct Options {
    /// Comma-separated loopback host:port list; sessions are spread over them round-robin.
    #[arg(long, default_value = "127.0.0.1:2181", value_delimiter = ',')]
    servers: Vec<String>,
    #[arg(long, value_enum, default_value = "getdata")]
    op: Operation,
    /// Client sessions (1..=256).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=256))]
    sessions: u32,
    /// Requests in flight per session (1..=1024).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    inflight: u32,
    /// Bytes of data per create / setData and in the working set (0..=1 MiB).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(0..=1_048_576))]
    value_size: u32,
    /// Percentage of reads in --op mixed.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(0..=100))]
    read_pct: u32,
    /// Seconds of measured load (after the warm-up), at most 3600.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of load before measuring starts (not counted).
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Stop after this many requests in total (warm-up included).
    #[arg(long, default_value_t = 50_000_000)]
    max_ops: u64,
    /// Open-loop offered load in ops/s over all sessions (0 = closed loop, as fast as possible).
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// znodes in the working set.
    #[arg(long, default_value_t = 1000)]
    nodes: u32,
    /// Children of /fkbench/c (the getChildren target).
    #[arg(long, default_value_t = 10)]
    children: u32,
    /// Skip creating the working set (it already exists).
    #[arg(long)]
    no_setup: bool,
    /// Session timeout asked for, ms.
    #[arg(long, default_value_t = 30_000)]
    session_timeout_ms: i32,
    /// A server silent this long (seconds) while requests are outstanding fails the run.
    #[arg(long, default_value_t = 30.0)]
    stall_timeout: f64,
    /// Name part of the znodes the create load makes (default: the process id).
    #[arg(long)]
    tag: Option<String>,
    /// Runtime worker threads (1 leaves the other core of a 2-core machine to the server).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Also print the result as one JSON line.
    #[arg(long)]
    json: bool,
    /// Label printed in the row (e.g. "ferrokeeper" or "java").
    #[arg(long, default_value = "")]
    label: String,
    /// Do not print the table header.
    #[arg(long)]
    no_header: bool,
    /// Write every measured request to this file: `<sent, µs since the Unix epoch> <latency µs>`.
    #[arg(long)]
    latency_log: Option<std::path::PathBuf>,
}

/// What every session shares: when measuring starts and stops, and the global op budget.
struct Shared {
    measure_start: Instant,
    deadline: Instant,
    issued: AtomicU64,
    max_ops: u64,
    stop: AtomicBool,
}

/// What one session brings back.
struct SessionResult {
    histogram: Histogram<u64>,
    /// With --latency-log: (sent, µs after measure_start; latency µs) of every measured request.
    requests: Vec<(u64, u64)>,
    /// Replies counted (sent after measure_start).
    measured: u64,
    errors: u64,
    first_error: Option<i32>,
}

fn main() {
    let options = Options::parse();
    if let Err(message) = check_options(&options) {
        eprintln!("loadgen: {message}");
        std::process::exit(2);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.threads.max(1))
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = runtime.block_on(run(options));
    std::process::exit(code);
}

fn check_options(options: &Options) -> Result<(), String> {
    if !(0.0..=3600.0).contains(&options.duration) || !(0.0..=600.0).contains(&options.warmup) {
        return Err("--duration must be within 0..=3600 s and --warmup within 0..=600 s".into());
    }
    if options.nodes == 0 {
        return Err("--nodes must be at least 1".into());
    }
    for server in &options.servers {
        let addresses: Vec<SocketAddr> =
            server.to_socket_addrs().map_err(|e| format!("cannot resolve {server}: {e}"))?.collect();
        // Load is only ever sent to this machine.
        if addresses.is_empty() || !addresses.iter().all(|a| a.ip().is_loopback()) {
            return Err(format!("{server} is not a loopback address; loadgen drives local servers only"));
        }
    }
    Ok(())
}

async fn run(options: Options) -> i32 {
    let options = Arc::new(options);
    let tag = options.tag.clone().unwrap_or_else(|| format!("p{}", std::process::id()));
    if options.op == Operation::Setup || !options.no_setup {
        let setup_start = Instant::now();
        if let Err(e) = setup(&options).await {
            eprintln!("loadgen: setup failed: {e}");
            return 1;
        }
        if options.op == Operation::Setup {
            eprintln!(
                "loadgen: working set of {} znodes ready in {:.2} s",
                options.nodes + options.children,
                setup_start.elapsed().as_secs_f64()
            );
            return 0;
        }
    }

    // Connect every session before the clock starts.
    let mut streams = Vec::new();
    for index in 0..options.sessions {
        let server = &options.servers[index as usize % options.servers.len()];
        match connect(server, options.session_timeout_ms).await {
            Ok(mut stream) => {
                if let Err(e) = sync(&mut stream).await {
                    eprintln!("loadgen: session {index}: sync failed: {e}");
                    return 1;
                }
                streams.push(stream)
            }
            Err(e) => {
                eprintln!("loadgen: session {index} to {server}: {e}");
                return 1;
            }
        }
    }

    let begin = Instant::now();
    let measure_start = begin + Duration::from_secs_f64(options.warmup);
    let epoch_at_measure_start =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_micros()
            as u64
            + (measure_start - begin).as_micros() as u64;
    let shared = Arc::new(Shared {
        measure_start,
        deadline: measure_start + Duration::from_secs_f64(options.duration),
        issued: AtomicU64::new(0),
        max_ops: options.max_ops,
        stop: AtomicBool::new(false),
    });
    let mut tasks = Vec::new();
    for (index, stream) in streams.into_iter().enumerate() {
        let options = options.clone();
        let shared = shared.clone();
        let tag = tag.clone();
        tasks.push(tokio::spawn(async move { drive(index as u32, stream, &options, &shared, &tag).await }));
    }
    let mut histogram = new_histogram();
    let (mut measured, mut errors, mut failed) = (0u64, 0u64, 0u32);
    let mut first_error = None;
    let mut requests = Vec::new();
    for task in tasks {
        match task.await {
            Ok(Ok(result)) => {
                histogram.add(&result.histogram).expect("histogram bounds match");
                requests.extend(result.requests);
                measured += result.measured;
                errors += result.errors;
                first_error = first_error.or(result.first_error);
            }
            Ok(Err(e)) => {
                eprintln!("loadgen: session failed: {e}");
                failed += 1;
            }
            Err(e) => {
                eprintln!("loadgen: session task panicked: {e}");
                failed += 1;
            }
        }
    }
    let end = Instant::now().min(shared.deadline).max(measure_start);
    let seconds = (end - measure_start).as_secs_f64().max(1e-9);
    report(&options, &histogram, measured, errors, seconds);
    if let Some(path) = &options.latency_log {
        if let Err(e) = write_latency_log(path, epoch_at_measure_start, &mut requests) {
            eprintln!("loadgen: writing {}: {e}", path.display());
            failed += 1;
        }
    }
    if let Some(code) = first_error {
        eprintln!("loadgen: {errors} replies carried an error (first: {code})");
    }
    if failed > 0 || errors > 0 {
        1
    } else {
        0
    }
}

/// `--latency-log`: the requests in order of their send time, one line each.
fn write_latency_log(
    path: &std::path::Path,
    epoch_at_measure_start: u64,
    requests: &mut [(u64, u64)],
) -> std::io::Result<()> {
    use std::io::Write;
    requests.sort_unstable();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for &(sent, latency) in requests.iter() {
        writeln!(out, "{} {latency}", epoch_at_measure_start + sent)?;
    }
    out.flush()
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs .. 100 s, 3 significant digits.
    Histogram::new_with_bounds(1, 100_000_000, 3).expect("histogram bounds")
}

fn report(options: &Options, histogram: &Histogram<u64>, measured: u64, errors: u64, seconds: f64) {
    let ops_per_sec = measured as f64 / seconds;
    let op = format!("{:?}", options.op).to_lowercase();
    let percentile = |q: f64| histogram.value_at_quantile(q);
    if !options.no_header {
        println!(
            "{:<12} {:<12} {:>5} {:>5} {:>6} {:>10} {:>11} {:>9} {:>9} {:>9} {:>9} {:>6}",
            "label",
            "op",
            "sess",
            "infl",
            "bytes",
            "rate",
            "ops/s",
            "p50_us",
            "p99_us",
            "p999_us",
            "max_us",
            "errors"
        );
    }
    println!(
        "{:<12} {:<12} {:>5} {:>5} {:>6} {:>10} {:>11.0} {:>9} {:>9} {:>9} {:>9} {:>6}",
        if options.label.is_empty() { "-" } else { &options.label },
        op,
        options.sessions,
        options.inflight,
        options.value_size,
        if options.rate > 0.0 { format!("{:.0}", options.rate) } else { "closed".into() },
        ops_per_sec,
        percentile(0.50),
        percentile(0.99),
        percentile(0.999),
        histogram.max(),
        errors
    );
    if options.json {
        println!(
            "{{\"label\":\"{}\",\"op\":\"{}\",\"sessions\":{},\"inflight\":{},\"value_size\":{},\"rate\":{},\
             \"ops\":{},\"errors\":{},\"seconds\":{:.3},\"ops_per_sec\":{:.1},\"p50_us\":{},\"p99_us\":{},\
             \"p999_us\":{},\"max_us\":{},\"mean_us\":{:.1}}}",
            options.label,
            op,
            options.sessions,
            options.inflight,
            options.value_size,
            options.rate,
            measured,
            errors,
            seconds,
            ops_per_sec,
            percentile(0.50),
            percentile(0.99),
            percentile(0.999),
            histogram.max(),
            histogram.mean()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// One session's load loop.

/// xorshift64*: cheap deterministic choices (node index, read or write) per session.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

async fn drive(
    index: u32,
    mut stream: TcpStream,
    options: &Options,
    shared: &Shared,
    tag: &str,
) -> Result<SessionResult, String> {
    let inflight_max = options.inflight as usize;
    let value = Bytes::from(vec![b'v'; options.value_size as usize]);
    let mut random =
        Random(0x9E37_79B9_7F4A_7C15 ^ (u64::from(index) + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
    let mut histogram = new_histogram();
    let mut requests = Vec::new();
    let keep_requests = options.latency_log.is_some();
    let (mut measured, mut errors) = (0u64, 0u64);
    let mut first_error = None;
    // Send time (or scheduled time, open loop) of every request in flight, oldest first.
    let mut inflight: VecDeque<Instant> = VecDeque::with_capacity(inflight_max);
    // Open loop: scheduled start times that have come but could not be sent yet (all slots busy).
    let mut due: VecDeque<Instant> = VecDeque::new();
    let mut ticker = if options.rate > 0.0 {
        let per_session = options.rate / f64::from(options.sessions);
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / per_session));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        Some(ticker)
    } else {
        None
    };
    let mut write_buffer = Vec::with_capacity(64 * 1024);
    let mut read_buffer: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut xid: i32 = 1;
    let mut sequence: u64 = 0;
    let stall = Duration::from_secs_f64(options.stall_timeout);

    loop {
        let now = Instant::now();
        let stopping = now >= shared.deadline || shared.stop.load(Ordering::Relaxed);
        while !stopping && inflight.len() < inflight_max {
            let start = match ticker {
                Some(_) => match due.pop_front() {
                    Some(scheduled) => scheduled,
                    None => break,
                },
                None => now,
            };
            if shared.issued.fetch_add(1, Ordering::Relaxed) >= shared.max_ops {
                shared.stop.store(true, Ordering::Relaxed);
                break;
            }
            encode_request(&mut write_buffer, xid, options, index, tag, sequence, &value, &mut random);
            xid = xid.wrapping_add(1).max(1);
            sequence += 1;
            inflight.push_back(start);
        }
        if !write_buffer.is_empty() {
            stream.write_all(&write_buffer).await.map_err(|e| format!("write: {e}"))?;
            write_buffer.clear();
        }
        if inflight.is_empty() && (stopping || shared.stop.load(Ordering::Relaxed)) {
            break;
        }
        // Parse every complete reply already buffered.
        let mut consumed = 0;
        while let Some((header, frame_end)) = next_reply(&read_buffer[consumed..])? {
            consumed += frame_end;
            if header.xid == -1 {
                continue; // a watch notification (none are set, but be safe)
            }
            let sent = inflight.pop_front().ok_or("a reply with nothing in flight")?;
            let done = Instant::now();
            if sent >= shared.measure_start && done <= shared.deadline {
                let latency = (done - sent).as_micros().max(1) as u64;
                histogram.saturating_record(latency);
                measured += 1;
                if keep_requests {
                    requests.push(((sent - shared.measure_start).as_micros() as u64, latency));
                }
            }
            if header.err != 0 {
                errors += 1;
                first_error.get_or_insert(header.err);
            }
        }
        if consumed > 0 {
            read_buffer.drain(..consumed);
            continue;
        }
        // Wait for more reply bytes or, open loop, the next scheduled request.
        let read = async {
            if read_buffer.capacity() - read_buffer.len() < 16 * 1024 {
                read_buffer.reserve(64 * 1024);
            }
            tokio::time::timeout(stall, stream.read_buf(&mut read_buffer)).await
        };
        let next_due = async {
            match ticker.as_mut() {
                Some(ticker) => ticker.tick().await,
                None => std::future::pending().await,
            }
        };
        let deadline_sleep = tokio::time::sleep_until(shared.deadline.into());
        tokio::select! {
            result = read, if !inflight.is_empty() => match result {
                Err(_) => return Err(format!("no reply for {:.0} s", stall.as_secs_f64())),
                Ok(Err(e)) => return Err(format!("read: {e}")),
                Ok(Ok(0)) => return Err("server closed the connection".into()),
                Ok(Ok(_)) => {}
            },
            scheduled = next_due, if !stopping => {
                // Sent at once: latency counts from now (a late timer tick is the load
                // generator's delay, not the server's). Queued behind busy slots: from the
                // scheduled time, so waiting for a slow server counts.
                let free = inflight.len() + due.len() < inflight_max;
                due.push_back(if free { Instant::now() } else { scheduled.into_std() });
            }
            _ = deadline_sleep, if !stopping && inflight.is_empty() => {}
        }
    }
    close(&mut stream).await;
    Ok(SessionResult { histogram, requests, measured, errors, first_error })
}

/// Returns the reply header of the first complete frame in `buffer` and the bytes it spans.
fn next_reply(buffer: &[u8]) -> Result<Option<(ReplyHeader, usize)>, String> {
    match jute::frame::split_frame(buffer, FRAME_BYTES_MAX).map_err(|e| e.to_string())? {
        None => Ok(None),
        Some((payload, consumed)) => {
            let mut reader = Reader::new(&buffer[payload]);
            let header = ReplyHeader::read(&mut reader).map_err(|e| format!("reply header: {e}"))?;
            Ok(Some((header, consumed)))
        }
    }
}

fn node_path(index: u64) -> String {
    format!("{ROOT}/n{index}")
}

fn open_acl() -> Vec<Acl> {
    vec![Acl::new(jute::consts::perms::ALL, "world", "anyone")]
}

#[allow(clippy::too_many_arguments)]
fn encode_request(
    out: &mut Vec<u8>,
    xid: i32,
    options: &Options,
    session: u32,
    tag: &str,
    sequence: u64,
    value: &Bytes,
    random: &mut Random,
) {
    let nodes = u64::from(options.nodes);
    let node = random.next() % nodes;
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    let header = |out: &mut Vec<u8>, opcode: i32| RequestHeader { xid, r#type: opcode }.write(out);
    match options.op {
        Operation::Create => {
            header(out, op::CREATE);
            CreateRequest {
                path: format!("{ROOT}/w/{tag}-{session}-{sequence}"),
                data: Some(value.clone()),
                acl: open_acl(),
                flags: 0,
            }
            .write(out);
        }
        Operation::Setdata => {
            header(out, op::SET_DATA);
            SetDataRequest { path: node_path(node), data: Some(value.clone()), version: -1 }.write(out);
        }
        Operation::Getdata => {
            header(out, op::GET_DATA);
            GetDataRequest { path: node_path(node), watch: false }.write(out);
        }
        Operation::Exists => {
            header(out, op::EXISTS);
            ExistsRequest { path: node_path(node), watch: false }.write(out);
        }
        Operation::Getchildren => {
            header(out, op::GET_CHILDREN);
            GetChildrenRequest { path: format!("{ROOT}/c"), watch: false }.write(out);
        }
        Operation::Multi => {
            header(out, op::MULTI);
            let other = random.next() % nodes;
            out.extend_from_slice(&encode_multi(&[
                MultiOp::Check(CheckVersionRequest { path: ROOT.into(), version: -1 }),
                MultiOp::SetData(SetDataRequest {
                    path: node_path(node),
                    data: Some(value.clone()),
                    version: -1,
                }),
                MultiOp::SetData(SetDataRequest {
                    path: node_path(other),
                    data: Some(value.clone()),
                    version: -1,
                }),
            ]));
        }
        Operation::Mixed => {
            if random.next() % 100 < u64::from(options.read_pct) {
                header(out, op::GET_DATA);
                GetDataRequest { path: node_path(node), watch: false }.write(out);
            } else {
                header(out, op::SET_DATA);
                SetDataRequest { path: node_path(node), data: Some(value.clone()), version: -1 }.write(out);
            }
        }
        Operation::Setup => unreachable!("setup sends no load"),
    }
    let length = (out.len() - start - 4) as i32;
    out[start..start + 4].copy_from_slice(&length.to_be_bytes());
}

// ---------------------------------------------------------------------------------------------
// Session plumbing: connect, one synchronous request, close, and the working set.

async fn connect(server: &str, session_timeout_ms: i32) -> Result<TcpStream, String> {
    let mut stream = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(server))
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let request = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        time_out: session_timeout_ms,
        session_id: 0,
        passwd: Bytes::from(vec![0u8; 16]),
        read_only: Some(false),
    };
    let mut frame = Vec::new();
    jute::proto::put_frame(&mut frame, &request.encode());
    stream.write_all(&frame).await.map_err(|e| format!("handshake write: {e}"))?;
    let payload = read_frame(&mut stream).await?;
    let response = ConnectResponse::decode(&payload).map_err(|e| format!("handshake reply: {e}"))?;
    if response.session_id == 0 || response.time_out <= 0 {
        return Err("server refused the session (is it serving?)".into());
    }
    Ok(stream)
}

async fn read_frame(stream: &mut TcpStream) -> Result<Vec<u8>, String> {
    let mut prefix = [0u8; 4];
    let io = async {
        stream.read_exact(&mut prefix).await?;
        let length = jute::frame::frame_length(prefix, FRAME_BYTES_MAX)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
        let mut payload = vec![0u8; length];
        stream.read_exact(&mut payload).await?;
        Ok::<_, std::io::Error>(payload)
    };
    tokio::time::timeout(Duration::from_secs(30), io)
        .await
        .map_err(|_| "no reply for 30 s".to_string())?
        .map_err(|e| format!("read: {e}"))
}

/// Sends one request and waits for its reply (skipping notifications); returns the error code.
async fn call(stream: &mut TcpStream, xid: i32, opcode: i32, body: &[u8]) -> Result<i32, String> {
    let mut payload = RequestHeader { xid, r#type: opcode }.encode();
    payload.extend_from_slice(body);
    let mut frame = Vec::new();
    jute::proto::put_frame(&mut frame, &payload);
    stream.write_all(&frame).await.map_err(|e| format!("write: {e}"))?;
    loop {
        let reply = read_frame(stream).await?;
        let header = ReplyHeader::read(&mut Reader::new(&reply)).map_err(|e| e.to_string())?;
        if header.xid == xid {
            return Ok(header.err);
        }
    }
}

async fn sync(stream: &mut TcpStream) -> Result<(), String> {
    match call(stream, 1, op::SYNC, &SyncRequest { path: ROOT.into() }.encode()).await? {
        0 => Ok(()),
        err => Err(format!("sync {ROOT}: error {err}")),
    }
}

async fn close(stream: &mut TcpStream) {
    let _ =
        tokio::time::timeout(Duration::from_secs(5), call(stream, 0x7fff_fff0, op::CLOSE_SESSION, &[])).await;
}

/// Creates the working set with one pipelined session (64 creates in flight); NodeExists is fine.
async fn setup(options: &Options) -> Result<(), String> {
    let mut stream = connect(&options.servers[0], options.session_timeout_ms).await?;
    let value = Bytes::from(vec![b'v'; options.value_size as usize]);
    let mut paths = vec![ROOT.to_string(), format!("{ROOT}/w"), format!("{ROOT}/c")];
    paths.extend((0..options.children).map(|i| format!("{ROOT}/c/k{i}")));
    paths.extend((0..u64::from(options.nodes)).map(node_path));
    // Parents first, synchronously; then the rest pipelined.
    for (xid, path) in paths[..3].iter().enumerate() {
        let body = CreateRequest { path: path.clone(), data: Some(value.clone()), acl: open_acl(), flags: 0 };
        match call(&mut stream, xid as i32 + 1, op::CREATE, &body.encode()).await? {
            0 | NODE_EXISTS => {}
            err => return Err(format!("create {path}: error {err}")),
        }
    }
    let rest = &paths[3..];
    let mut next = 0;
    let mut outstanding = 0usize;
    let mut buffer = Vec::new();
    while next < rest.len() || outstanding > 0 {
        let mut frame = Vec::new();
        while next < rest.len() && outstanding < 64 {
            let mut payload = RequestHeader { xid: 100 + next as i32, r#type: op::CREATE }.encode();
            CreateRequest { path: rest[next].clone(), data: Some(value.clone()), acl: open_acl(), flags: 0 }
                .write(&mut payload);
            jute::proto::put_frame(&mut frame, &payload);
            next += 1;
            outstanding += 1;
        }
        if !frame.is_empty() {
            stream.write_all(&frame).await.map_err(|e| format!("write: {e}"))?;
        }
        let read = tokio::time::timeout(Duration::from_secs(30), stream.read_buf(&mut buffer))
            .await
            .map_err(|_| "setup: no reply for 30 s".to_string())?
            .map_err(|e| format!("read: {e}"))?;
        if read == 0 {
            return Err("server closed the connection during setup".into());
        }
        let mut consumed = 0;
        while let Some((header, frame_end)) = next_reply(&buffer[consumed..])? {
            consumed += frame_end;
            if header.xid == -1 {
                continue;
            }
            outstanding -= 1;
            if header.err != 0 && header.err != NODE_EXISTS {
                return Err(format!("setup create: error {}", header.err));
            }
        }
        buffer.drain(..consumed);
    }
    close(&mut stream).await;
    Ok(())
}
