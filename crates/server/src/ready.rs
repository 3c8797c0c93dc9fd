//! `ferrokeeper ready [port]` (also invoked as `zookeeper-ready`): the probe of the tutorial
//! image. Exit 0 when the server answers `ruok` with `imok`; with `--quorum`, only when `srvr`
//! says it serves as standalone, leader, follower or observer (a server still electing or
//! syncing answers srvr with "not currently serving requests").

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: zookeeper-ready [--host HOST] [--timeout SECONDS] [--quorum] [PORT]\n\
    PORT defaults to $ZK_CLIENT_PORT, else 2181; HOST to 127.0.0.1.";

#[derive(Debug, PartialEq)]
struct Probe {
    host: String,
    port: u16,
    quorum: bool,
    timeout: Duration,
}

fn parse(args: &[OsString]) -> Result<Probe, String> {
    let mut probe = Probe {
        host: "127.0.0.1".to_owned(),
        port: std::env::var("ZK_CLIENT_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(2181),
        quorum: false,
        timeout: Duration::from_secs(5),
    };
    let mut args = args.iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value =
            |name: &str| inline.clone().or_else(|| args.next()).ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--quorum" => probe.quorum = true,
            "--host" => probe.host = value("--host")?,
            "--timeout" => {
                let seconds: f64 = value("--timeout")?.parse().map_err(|_| "bad --timeout".to_owned())?;
                probe.timeout = Duration::from_secs_f64(seconds.max(0.1));
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            port if !port.starts_with('-') => {
                probe.port = port.parse().map_err(|_| format!("not a port: {port}"))?;
            }
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok(probe)
}

/// Sends a four-letter word and reads the answer until the server closes.
pub fn four_letter(host: &str, port: u16, word: &str, timeout: Duration) -> std::io::Result<String> {
    let address = (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"))?;
    let mut stream = TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(word.as_bytes())?;
    let mut answer = String::new();
    stream.take(1 << 20).read_to_string(&mut answer)?;
    Ok(answer)
}

/// The verdict on a `srvr` answer for `--quorum`.
fn serving_mode(srvr: &str) -> Option<&str> {
    let mode = srvr.lines().find_map(|l| l.strip_prefix("Mode: "))?.trim();
    matches!(mode, "standalone" | "leader" | "follower" | "observer").then_some(mode)
}

pub fn main(args: &[OsString]) -> ExitCode {
    let probe = match parse(args) {
        Ok(probe) => probe,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match four_letter(&probe.host, probe.port, "ruok", probe.timeout) {
        Ok(answer) if answer == "imok" => {}
        Ok(answer) => {
            eprintln!("ruok answered {answer:?}, not imok");
            return ExitCode::FAILURE;
        }
        Err(error) => {
            eprintln!("cannot reach {}:{}: {error}", probe.host, probe.port);
            return ExitCode::FAILURE;
        }
    }
    if !probe.quorum {
        return ExitCode::SUCCESS;
    }
    match four_letter(&probe.host, probe.port, "srvr", probe.timeout) {
        Ok(answer) => match serving_mode(&answer) {
            Some(_) => ExitCode::SUCCESS,
            None => {
                eprintln!("not serving: {}", answer.lines().next().unwrap_or("").trim());
                ExitCode::FAILURE
            }
        },
        Err(error) => {
            eprintln!("srvr failed: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tutorial_command_line_parses() {
        let probe = parse(&["2181".into()]).expect("parses");
        assert_eq!((probe.port, probe.quorum, probe.host.as_str()), (2181, false, "127.0.0.1"));
        let probe = parse(&["--quorum".into(), "--timeout=2".into(), "3000".into()]).expect("parses");
        assert_eq!((probe.port, probe.quorum, probe.timeout), (3000, true, Duration::from_secs(2)));
        assert!(parse(&["--bogus".into()]).is_err());
    }

    #[test]
    fn only_serving_modes_are_ready() {
        assert_eq!(serving_mode("Zookeeper version: x\nMode: follower\nNode count: 4\n"), Some("follower"));
        assert_eq!(serving_mode("This ZooKeeper instance is not currently serving requests\n"), None);
        assert_eq!(serving_mode("Mode: read-only\n"), None);
    }
}
