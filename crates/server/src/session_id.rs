//! Session ids and passwords, generated exactly as Java ZooKeeper generates them.
//!
//! Mixed Java/Rust ensembles need bit-identical behaviour here: every server mints ids from
//! its own `myid` (so ids never collide across servers), and any server must be able to
//! recompute a session's password to validate a reconnect, because passwords are never
//! stored or replicated.

use std::sync::atomic::{AtomicI64, Ordering};

/// XOR-ed into the session id to seed the password generator (`ZooKeeperServer.superSecret`).
pub const SUPER_SECRET: i64 = 0xB341_5C00;

/// Length of a session password on the wire (`ConnectResponse.passwd`).
pub const SESSION_PASSWORD_LEN: usize = 16;

/// The ephemeral owner Java reserves for container nodes (`EphemeralType.CONTAINER_EPHEMERAL_OWNER`);
/// a session id must never take this value or its ephemerals would look like containers.
pub const CONTAINER_EPHEMERAL_OWNER: i64 = i64::MIN;

/// First session id a server hands out (`SessionTrackerImpl.initializeNextSessionId`).
///
/// Layout: the low 8 bits of `server_id` in bits 56..64, the low 40 bits of `now_ms` in bits
/// 16..56, zeros below. `now_ms` is Java's `Time.currentElapsedTime()`: a monotonic clock in
/// milliseconds with an arbitrary origin, so any monotonic source works. Standalone servers use
/// `server_id` 1; quorum members use their myid.
pub fn initial_session_id(server_id: u64, now_ms: u64) -> i64 {
    // `(t << 24) >>> 8` in Java: keep the low 40 bits of t, shifted to bit 16.
    let time_bits = (now_ms << 24) >> 8;
    // `id << 56` on a Java long drops every bit of the id above the low 8.
    let mut next = (time_bits | (server_id << 56)) as i64;
    if next == CONTAINER_EPHEMERAL_OWNER {
        next += 1;
    }
    next
}

/// Hands out consecutive session ids starting at [`initial_session_id`], like Java's
/// `AtomicLong.getAndIncrement` (wrapping on overflow, no skipping).
#[derive(Debug)]
pub struct SessionIdGenerator {
    next: AtomicI64,
}

impl SessionIdGenerator {
    /// Starts where Java would for this server at this monotonic time.
    pub fn new(server_id: u64, now_ms: u64) -> Self {
        Self::starting_at(initial_session_id(server_id, now_ms))
    }

    /// Starts at an explicit id; for tests and deterministic simulation.
    pub fn starting_at(first: i64) -> Self {
        Self { next: AtomicI64::new(first) }
    }

    /// Returns the next id and advances.
    pub fn next_id(&self) -> i64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// The id the next call to [`Self::next_id`] will return.
    pub fn peek(&self) -> i64 {
        self.next.load(Ordering::Relaxed)
    }
}

/// The password Java gives a session: `new Random(sessionId ^ superSecret).nextBytes(byte[16])`.
pub fn session_password(session_id: i64) -> [u8; SESSION_PASSWORD_LEN] {
    let mut random = JavaRandom::new(session_id ^ SUPER_SECRET);
    let mut password = [0u8; SESSION_PASSWORD_LEN];
    random.next_bytes(&mut password);
    password
}

/// Reconnect check (`ZooKeeperServer.checkPasswd`): id 0 never validates, otherwise the
/// presented bytes must equal the recomputed password exactly (length included).
pub fn session_password_matches(session_id: i64, presented: &[u8]) -> bool {
    session_id != 0 && presented == session_password(session_id)
}

/// `java.util.Random`, bit for bit: a 48-bit linear congruential generator.
///
/// Only what ZooKeeper relies on is provided. The seed is scrambled with the multiplier on
/// construction, exactly as `Random(long seed)` does.
#[derive(Debug, Clone)]
pub struct JavaRandom {
    seed: u64,
}

impl JavaRandom {
    const MULTIPLIER: u64 = 0x5_DEEC_E66D;
    const ADDEND: u64 = 0xB;
    const MASK: u64 = (1 << 48) - 1;

    /// `new Random(seed)`.
    pub fn new(seed: i64) -> Self {
        Self { seed: (seed as u64 ^ Self::MULTIPLIER) & Self::MASK }
    }

    /// `Random.next(bits)`: advances the state and returns its top `bits` bits (1..=32) as a
    /// Java int (sign included when `bits` is 32).
    pub fn next_bits(&mut self, bits: u32) -> i32 {
        debug_assert!((1..=32).contains(&bits), "next_bits takes 1..=32 bits");
        self.seed = (self.seed.wrapping_mul(Self::MULTIPLIER).wrapping_add(Self::ADDEND)) & Self::MASK;
        (self.seed >> (48 - bits)) as u32 as i32
    }

    /// `Random.nextInt()`.
    pub fn next_int(&mut self) -> i32 {
        self.next_bits(32)
    }

    /// `Random.nextLong()`: two ints, the first shifted into the high half (signed add).
    pub fn next_long(&mut self) -> i64 {
        let high = i64::from(self.next_bits(32));
        let low = i64::from(self.next_bits(32));
        (high << 32).wrapping_add(low)
    }

    /// `Random.nextBytes`: one `nextInt()` per 4 bytes, least significant byte first; a
    /// partial last group uses only the low bytes of a fresh int.
    pub fn next_bytes(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(4) {
            let bytes = self.next_int().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ConnectResponse payloads sent by Apache ZooKeeper 3.8.0 (standalone, myid 1), copied from
    /// `/work/shared/reference/golden/frames.jsonl`: protocolVersion int, timeout int,
    /// sessionId long, passwd (int length + bytes), readOnly byte.
    const GOLDEN_CONNECT_RESPONSES: &[&str] = &[
        // conn 1, "zkCli: create /hello world"
        "00000000000075300100001e0519000000000010ed56259076221061137c9d93af2eadc800",
        // conn 2, "zkCli: get -s /hello"
        "00000000000075300100001e051900010000001000781f90166eefa508bf04bf83b7c19500",
        // conn 3, "zkCli: set /hello world2"
        "00000000000075300100001e0519000200000010c7143190368b51d729f6ce3c081d842e00",
        // conn 9, "zkCli: create -t 10000 /ttl t"
        "00000000000075300100001e0519000800000010865ff68f767f0a88bd93d7ee4c75513100",
        // conn 17, "zkCli: delete /hello"
        "00000000000075300100001e0519001000000010bb45839077681b13bf4c29dd75a164f700",
        // conn 20, "zkCli: getAcl /hello"
        "00000000000075300100001e0519001300000010a8248990d71c3cceca09c2b1a118502a00",
    ];

    fn decode_hex(text: &str) -> Vec<u8> {
        assert_eq!(text.len() & 1, 0, "odd-length hex");
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digit"))
            .collect()
    }

    struct ConnectResponse {
        timeout_ms: i32,
        session_id: i64,
        password: Vec<u8>,
    }

    fn parse_connect_response(frame: &[u8]) -> ConnectResponse {
        let int_at = |at: usize| i32::from_be_bytes(frame[at..at + 4].try_into().expect("4 bytes"));
        assert_eq!(int_at(0), 0, "protocolVersion");
        let timeout_ms = int_at(4);
        let session_id = i64::from_be_bytes(frame[8..16].try_into().expect("8 bytes"));
        let len = usize::try_from(int_at(16)).expect("non-negative length");
        let password = frame[20..20 + len].to_vec();
        assert_eq!(frame.len(), 20 + len + 1, "readOnly byte closes the frame");
        ConnectResponse { timeout_ms, session_id, password }
    }

    #[test]
    fn password_matches_what_java_3_8_sent() {
        for hex in GOLDEN_CONNECT_RESPONSES {
            let response = parse_connect_response(&decode_hex(hex));
            assert_eq!(response.timeout_ms, 30_000);
            assert_eq!(
                session_password(response.session_id).as_slice(),
                response.password.as_slice(),
                "session 0x{:016x}",
                response.session_id
            );
            assert!(session_password_matches(response.session_id, &response.password));
        }
    }

    #[test]
    fn golden_session_ids_have_java_layout() {
        // Standalone Java uses server id 1 and hands out consecutive ids.
        let first = parse_connect_response(&decode_hex(GOLDEN_CONNECT_RESPONSES[0])).session_id;
        assert_eq!(first as u64 >> 56, 1);
        assert_eq!(first & 0xFFFF, 0, "low 16 bits start at zero");
        // Recover the 40 time bits and regenerate the same first id.
        let time_bits = (first as u64 >> 16) & ((1 << 40) - 1);
        assert_eq!(initial_session_id(1, time_bits), first);
        // A larger clock value with the same low 40 bits gives the same id.
        assert_eq!(initial_session_id(1, time_bits | (7 << 40)), first);
        let generator = SessionIdGenerator::new(1, time_bits);
        let ids: Vec<i64> = (0..20).map(|_| generator.next_id()).collect();
        let last = parse_connect_response(&decode_hex(GOLDEN_CONNECT_RESPONSES[5])).session_id;
        assert_eq!(ids[0], first);
        assert_eq!(ids[0x13], last);
    }

    #[test]
    fn initial_session_id_layout() {
        assert_eq!(initial_session_id(0, 0), 0);
        assert_eq!(initial_session_id(1, 0), 0x0100_0000_0000_0000);
        assert_eq!(initial_session_id(3, 1), 0x0300_0000_0001_0000);
        assert_eq!(initial_session_id(255, u64::MAX), 0xFFFF_FFFF_FFFF_0000_u64 as i64);
        // Only the low 8 bits of the server id survive the shift, as in Java.
        assert_eq!(initial_session_id(0x101, 0), initial_session_id(1, 0));
    }

    #[test]
    fn initial_session_id_never_equals_container_owner() {
        // Server id 128 at a clock whose low 40 bits are zero would produce Long.MIN_VALUE.
        assert_eq!(initial_session_id(128, 0), i64::MIN + 1);
        assert_eq!(initial_session_id(128, 1 << 40), i64::MIN + 1);
        assert_eq!(initial_session_id(128, 1), i64::MIN | 0x1_0000);
    }

    #[test]
    fn generator_counts_up_and_wraps_like_atomic_long() {
        let generator = SessionIdGenerator::starting_at(i64::MAX - 1);
        assert_eq!(generator.peek(), i64::MAX - 1);
        assert_eq!(generator.next_id(), i64::MAX - 1);
        assert_eq!(generator.next_id(), i64::MAX);
        assert_eq!(generator.next_id(), i64::MIN);
        assert_eq!(generator.peek(), i64::MIN + 1);
    }

    #[test]
    fn java_random_known_values() {
        // `new Random(0).nextInt()` and `new Random(42).nextInt()` in any JDK.
        assert_eq!(JavaRandom::new(0).next_int(), -1_155_484_576);
        assert_eq!(JavaRandom::new(42).next_int(), -1_170_105_035);
        // nextLong is two nextInts combined; check the combination rule on a fresh stream.
        let mut ints = JavaRandom::new(42);
        let (high, low) = (ints.next_int(), ints.next_int());
        let expected = (i64::from(high) << 32).wrapping_add(i64::from(low));
        assert_eq!(JavaRandom::new(42).next_long(), expected);
    }

    #[test]
    fn next_bytes_uses_low_bytes_of_each_int_first() {
        let mut ints = JavaRandom::new(7);
        let first = ints.next_int().to_le_bytes();
        let second = ints.next_int().to_le_bytes();
        let mut bytes = [0u8; 6];
        JavaRandom::new(7).next_bytes(&mut bytes);
        assert_eq!(&bytes[..4], &first);
        assert_eq!(&bytes[4..], &second[..2]);
    }

    #[test]
    fn password_check_rejects_id_zero_and_wrong_bytes() {
        let password = session_password(0);
        assert!(!session_password_matches(0, &password));
        let id = 0x0100_001e_0519_0000;
        let mut password = session_password(id);
        assert!(session_password_matches(id, &password));
        assert!(!session_password_matches(id, &password[..15]));
        password[3] ^= 1;
        assert!(!session_password_matches(id, &password));
    }
}
