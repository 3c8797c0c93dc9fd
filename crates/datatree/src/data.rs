//! [`Data`]: a znode's data, shared and immutable, behind one thin pointer.
//!
//! A million znodes each hold one, so its size in the node counts: an `Arc<[u8]>` is a fat
//! pointer (16 bytes), which took `Node` to 96 bytes and its `Arc` allocation to a 128-byte
//! malloc chunk; with this 8-byte pointer `Node` is 88 bytes and the chunk 112. The allocation
//! holds what an `Arc<[u8]>`'s does: a reference count and the length, then the bytes
//! (triomphe's `ThinArc`).

use std::fmt;
use triomphe::ThinArc;

/// Immutable bytes with a shared owner count, one allocation, an 8-byte handle. Cloning
/// shares; the bytes never change once made.
#[derive(Clone)]
pub struct Data(ThinArc<(), u8>);

impl Data {
    /// A copy of `bytes`.
    pub fn copy_from_slice(bytes: &[u8]) -> Data {
        Data(ThinArc::from_header_and_slice((), bytes))
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.0.slice
    }
}

impl std::ops::Deref for Data {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Data {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl From<&[u8]> for Data {
    fn from(bytes: &[u8]) -> Data {
        Data::copy_from_slice(bytes)
    }
}

impl From<Vec<u8>> for Data {
    fn from(bytes: Vec<u8>) -> Data {
        Data::copy_from_slice(&bytes)
    }
}

impl PartialEq for Data {
    fn eq(&self, other: &Data) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Data {}

impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_slice(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_keeps_its_bytes_across_clones_and_threads() {
        assert_eq!(std::mem::size_of::<Data>(), 8);
        assert_eq!(std::mem::size_of::<Option<Data>>(), 8);
        for length in [0usize, 1, 7, 100, 4096] {
            let bytes: Vec<u8> = (0..length).map(|i| (i * 31) as u8).collect();
            let data = Data::from(bytes.as_slice());
            assert_eq!(&*data, bytes.as_slice());
            let copies: Vec<Data> = (0..8).map(|_| data.clone()).collect();
            drop(data);
            let threads: Vec<_> = copies
                .into_iter()
                .map(|copy| {
                    let expected = bytes.clone();
                    std::thread::spawn(move || assert_eq!(copy.as_slice(), expected.as_slice()))
                })
                .collect();
            for thread in threads {
                thread.join().unwrap();
            }
        }
        let shared = Data::from(&b"abc"[..]);
        let bytes = bytes::Bytes::from_owner(shared.clone());
        drop(shared);
        assert_eq!(&bytes[..], b"abc");
    }
}
