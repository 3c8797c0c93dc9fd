//! [`Data`]: a znode's data, shared and immutable, behind one thin pointer.
//!
//! A million znodes each hold one, so its size in the node counts: an `Arc<[u8]>` is a fat
//! pointer (16 bytes), which took `Node` to 96 bytes and its `Arc` allocation to a 128-byte
//! malloc chunk; with this 8-byte pointer `Node` is 88 bytes and the chunk 112. The allocation
//! itself is the same as an `Arc<[u8]>`'s: a reference count and the length, then the bytes.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::fmt;
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicUsize, Ordering};

/// What precedes the bytes in a [`Data`] allocation.
#[repr(C)]
struct Header {
    references: AtomicUsize,
    length: usize,
}

/// Immutable bytes with a shared owner count, one allocation, an 8-byte handle (a thin
/// `Arc<[u8]>`). Cloning shares; the bytes never change once made.
pub struct Data {
    header: NonNull<Header>,
}

// SAFETY: the bytes are immutable after construction and the count is atomic, exactly as for
// `Arc<[u8]>`, which is Send and Sync.
unsafe impl Send for Data {}
// SAFETY: as above.
unsafe impl Sync for Data {}

impl Data {
    fn layout(length: usize) -> Layout {
        let size = std::mem::size_of::<Header>().checked_add(length).expect("data length overflows");
        Layout::from_size_align(size, std::mem::align_of::<Header>()).expect("data length overflows")
    }

    /// A copy of `bytes`.
    pub fn copy_from_slice(bytes: &[u8]) -> Data {
        let layout = Data::layout(bytes.len());
        // SAFETY: the layout is never zero-sized (it holds the header); the header is written
        // before use and the bytes are copied into the space the layout gives after it.
        unsafe {
            let raw = alloc(layout);
            let Some(header) = NonNull::new(raw.cast::<Header>()) else { handle_alloc_error(layout) };
            header.as_ptr().write(Header { references: AtomicUsize::new(1), length: bytes.len() });
            let start = raw.add(std::mem::size_of::<Header>());
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), start, bytes.len());
            Data { header }
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: the allocation lives as long as any handle to it.
        unsafe { self.header.as_ref() }
    }

    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `length` initialized bytes follow the header for the allocation's life.
        unsafe {
            let start = self.header.as_ptr().cast::<u8>().add(std::mem::size_of::<Header>());
            std::slice::from_raw_parts(start, self.header().length)
        }
    }
}

impl Clone for Data {
    fn clone(&self) -> Data {
        // As `Arc::clone`: a new handle needs no ordering, only a count that cannot wrap.
        let old = self.header().references.fetch_add(1, Ordering::Relaxed);
        assert!(old < isize::MAX as usize, "data reference count overflow");
        Data { header: self.header }
    }
}

impl Drop for Data {
    fn drop(&mut self) {
        // As `Arc::drop`: release our uses, and the last one acquires everyone else's.
        if self.header().references.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        fence(Ordering::Acquire);
        let layout = Data::layout(self.header().length);
        // SAFETY: this was the last handle; the allocation was made with this layout.
        unsafe { dealloc(self.header.as_ptr().cast::<u8>(), layout) }
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
