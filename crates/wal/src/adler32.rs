//! Adler-32 (RFC 1950), as java.util.zip.Adler32: the checksum of txn log entries and snapshots.

/// A running Adler-32.
#[derive(Clone)]
pub struct Adler32 {
    inner: simd_adler32::Adler32,
}

impl std::fmt::Debug for Adler32 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Adler32({:#010x})", self.value())
    }
}

impl PartialEq for Adler32 {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value()
    }
}

impl Eq for Adler32 {}

impl Default for Adler32 {
    fn default() -> Self {
        Adler32::new()
    }
}

impl Adler32 {
    pub fn new() -> Adler32 {
        Adler32 { inner: simd_adler32::Adler32::new() }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.inner.write(bytes);
    }

    /// The checksum as Java's `Checksum.getValue()` returns it (a non-negative long).
    pub fn value(&self) -> u32 {
        self.inner.finish()
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

    #[test]
    fn any_bytes_in_any_pieces_match_the_definition() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let bytes: Vec<u8> = (0..70_001)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let (mut a, mut b) = (1u64, 0u64);
        for &byte in &bytes {
            a = (a + u64::from(byte)) % 65_521;
            b = (b + a) % 65_521;
        }
        let expected = ((b << 16) | a) as u32;
        for pieces in [1usize, 2, 3, 7, 64, 1000] {
            let mut adler = Adler32::new();
            for chunk in bytes.chunks(bytes.len().div_ceil(pieces)) {
                adler.update(chunk);
            }
            assert_eq!(adler.value(), expected, "{pieces} pieces");
        }
    }
}
