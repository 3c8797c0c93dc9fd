//! The CVE-2017-5637 lesson: `wchc`/`wchp` on a huge watch set must not stall the server.
//!
//! Java 3.4 built those listings in quadratic time while holding the watch manager's lock, so a
//! single unauthenticated `wchp` froze a server with many watches. ferrokeeper keeps both words
//! out of the default whitelist (as Java does since 3.4.10) and bounds the work: the listing is
//! built only while the server holds at most `4lw.watchListLimit` watches (default 100,000);
//! above that the word answers one line at once. These tests register 20,000 watches, list them,
//! check the listings are complete and that other sessions are served while they are built, then
//! lower the limit and check the refusal.

mod support;

use jute::consts::op;
use jute::proto::{ExistsRequest, RequestHeader};
use jute::Field;
use std::io::Write;
use std::time::{Duration, Instant};
use support::{four_letter, read_frame, start_ferrokeeper, Client};

const SESSIONS: usize = 4;
const WATCHES_PER_SESSION: usize = 5_000;

/// Registers `count` data watches (exists on missing nodes) on `client`, pipelined.
fn register_watches(client: &mut Client, session: usize, count: usize) {
    let mut batch = Vec::with_capacity(count * 40);
    for i in 0..count {
        let mut payload = Vec::new();
        RequestHeader { xid: 1_000 + i as i32, r#type: op::EXISTS }.write(&mut payload);
        ExistsRequest { path: format!("/w{session}/n{i}"), watch: true }.write(&mut payload);
        jute::proto::put_frame(&mut batch, &payload);
    }
    client.stream.write_all(&batch).expect("send exists batch");
    for _ in 0..count {
        read_frame(&mut client.stream).expect("exists reply");
    }
}

fn setup(extra_config: &str) -> (support::ServerProcess, Vec<Client>) {
    let server = start_ferrokeeper(extra_config);
    let mut clients = Vec::new();
    for session in 0..SESSIONS {
        let mut client = Client::connect(server.address);
        register_watches(&mut client, session, WATCHES_PER_SESSION);
        clients.push(client);
    }
    (server, clients)
}

#[test]
fn watch_listings_are_complete_and_other_sessions_keep_being_served() {
    let (server, clients) = setup("");
    let total = SESSIONS * WATCHES_PER_SESSION;
    assert_eq!(
        four_letter(server.address, "wchs").as_deref(),
        Some(format!("{SESSIONS} connections watching {total} paths\nTotal watches:{total}\n").as_str())
    );

    // A bystander session measures its round trips while the listings are built.
    let address = server.address;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let bystander = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut client = Client::connect(address);
            let mut worst = Duration::ZERO;
            let mut count = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let started = Instant::now();
                client.call(&jute::request::Request::Ping).expect("ping");
                worst = worst.max(started.elapsed());
                count += 1;
            }
            (worst, count)
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    let started = Instant::now();
    let wchc = four_letter(server.address, "wchc").expect("wchc");
    let wchp = four_letter(server.address, "wchp").expect("wchp");
    let listing_time = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (worst_ping, pings) = bystander.join().expect("bystander");
    eprintln!(
        "wchc+wchp over {total} watches: {listing_time:?}; bystander: {pings} pings, worst {worst_ping:?}"
    );

    // wchc: per session a 0x<sid> line, then a tab-indented line per path; a blank line at the end
    let lines: Vec<&str> = wchc.lines().collect();
    assert_eq!(lines.iter().filter(|l| l.starts_with("0x")).count(), SESSIONS, "{}", &wchc[..200]);
    assert_eq!(lines.iter().filter(|l| l.starts_with("\t/w")).count(), total);
    assert!(wchc.ends_with("\n\n"));
    // wchp: per path a line, then a tab-indented session line
    let lines: Vec<&str> = wchp.lines().collect();
    assert_eq!(lines.iter().filter(|l| l.starts_with("/w")).count(), total);
    assert_eq!(lines.iter().filter(|l| l.starts_with("\t0x")).count(), total);
    // The server kept answering the bystander while it built both listings (generous bound for
    // debug builds on a shared machine; a stall like the CVE's is minutes).
    assert!(worst_ping < Duration::from_secs(3), "a ping waited {worst_ping:?}");
    drop(clients);
}

#[test]
fn above_the_limit_the_listing_words_answer_at_once() {
    let (server, clients) = setup("4lw.watchListLimit=1000\n");
    let total = SESSIONS * WATCHES_PER_SESSION;
    let expected =
        format!("not listing {total} watches: more than 4lw.watchListLimit=1000 (wchs gives the totals)\n");
    for word in ["wchc", "wchp"] {
        let started = Instant::now();
        assert_eq!(four_letter(server.address, word).as_deref(), Some(expected.as_str()), "{word}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    // the totals stay available
    assert!(four_letter(server.address, "wchs").expect("wchs").contains(&format!("Total watches:{total}")));
    drop(clients);
}
