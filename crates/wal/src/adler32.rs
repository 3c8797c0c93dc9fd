//! Adler-32 (RFC 1950), as java.util.zip.Adler32: the checksum of txn log entries and snapshots.

const MOD_ADLER: u32 = 65_521;
/// The most bytes that can be summed before `b` may overflow a u32 (zlib's NMAX).
const NMAX: usize = 5552;

/// A running Adler-32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adler32 {
    a: u32,
    b: u32,
}

impl Default for Adler32 {
    fn default() -> Self {
        Adler32::new()
    }
}

impl Adler32 {
    pub fn new() -> Adler32 {
        Adler32 { a: 1, b: 0 }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(NMAX) {
            for &byte in chunk {
                self.a += u32::from(byte);
                self.b += self.a;
            }
            self.a %= MOD_ADLER;
            self.b %= MOD_ADLER;
        }
    }

    /// The checksum as Java's `Checksum.getValue()` returns it (a non-negative long).
    pub fn value(&self) -> u32 {
        (self.b << 16) | self.a
    }

    /// One-shot checksum of `bytes`.
    pub fn of(bytes: &[u8]) -> u32 {
        let mut adler = Adler32::new();
        adler.update(bytes);
        adler.value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(Adler32::of(b""), 1);
        assert_eq!(Adler32::of(b"Wikipedia"), 0x11E6_0398);
        let big = vec![0xFFu8; 100_000];
        let mut split = Adler32::new();
        split.update(&big[..12_345]);
        split.update(&big[12_345..]);
        // Reference: the naive definition with modulo at every step.
        let (mut a, mut b) = (1u64, 0u64);
        for &byte in &big {
            a = (a + u64::from(byte)) % 65_521;
            b = (b + a) % 65_521;
        }
        assert_eq!(u64::from(split.value()), (b << 16) | a);
        assert_eq!(Adler32::of(&big), split.value());
    }
}
