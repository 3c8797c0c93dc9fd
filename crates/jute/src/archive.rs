//! The jute binary archive: primitive encodings and the [`Record`] trait.

use bytes::{BufMut, Bytes};

/// Why a record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JuteError {
    #[error("record truncated: needed {needed} more bytes, {remaining} left")]
    Truncated { needed: usize, remaining: usize },
    #[error("invalid length {0}")]
    InvalidLength(i32),
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    #[error("{0} unexpected bytes after the record")]
    TrailingBytes(usize),
    #[error("invalid value {value} for {what}")]
    InvalidValue { what: &'static str, value: i64 },
}

/// A cursor over an input slice; every read is bounds-checked.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    input: &'a [u8],
    position: usize,
    buffers: Buffers<'a>,
}

/// Where a decoded buffer field (`Option<Bytes>`) gets its bytes.
#[derive(Debug, Clone, Copy)]
enum Buffers<'a> {
    /// A copy of its own.
    Copied,
    /// From [`SHARE_FROM`] bytes on, a slice sharing the input's allocation (a 4 KiB value then
    /// travels from the socket to the tree without being copied at every decode); shorter ones
    /// are copied, which is cheaper than a reference count that threads share.
    Shared(&'a Bytes),
    /// An empty buffer: the caller wants only where the record ends.
    Skipped,
}

/// The length from which [`Reader::shared`] hands out slices rather than copies.
pub const SHARE_FROM: usize = 512;

impl<'a> Reader<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Reader { input, position: 0, buffers: Buffers::Copied }
    }

    /// A reader of `input` whose large buffer fields share `input`'s allocation.
    pub fn shared(input: &'a Bytes) -> Self {
        Reader { input, position: 0, buffers: Buffers::Shared(input) }
    }

    /// A reader that decodes every buffer field as empty: for finding where a record ends
    /// without copying its buffers.
    pub fn skipping(input: &'a [u8]) -> Self {
        Reader { input, position: 0, buffers: Buffers::Skipped }
    }

    /// A buffer field's `length` bytes, as this reader hands buffers out.
    fn take_buffer(&mut self, length: usize) -> Result<Bytes, JuteError> {
        let start = self.position;
        let bytes = self.take(length)?;
        Ok(match self.buffers {
            Buffers::Shared(input) if length >= SHARE_FROM => input.slice(start..start + length),
            Buffers::Skipped => Bytes::new(),
            _ => Bytes::copy_from_slice(bytes),
        })
    }

    pub fn remaining(&self) -> usize {
        self.input.len() - self.position
    }

    pub fn position(&self) -> usize {
        self.position
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The bytes not read yet, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        &self.input[self.position..]
    }

    pub fn take(&mut self, count: usize) -> Result<&'a [u8], JuteError> {
        if count > self.remaining() {
            return Err(JuteError::Truncated { needed: count, remaining: self.remaining() });
        }
        let slice = &self.input[self.position..self.position + count];
        self.position += count;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], JuteError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub fn read_u8(&mut self) -> Result<u8, JuteError> {
        Ok(self.array::<1>()?[0])
    }

    pub fn read_i32(&mut self) -> Result<i32, JuteError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    pub fn read_i64(&mut self) -> Result<i64, JuteError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    /// Reads a length prefix: `None` for -1 (null), an error for any other negative value or for a
    /// length longer than what is left (each element is at least `min_element_size` bytes).
    pub fn read_length(&mut self, min_element_size: usize) -> Result<Option<usize>, JuteError> {
        let length = self.read_i32()?;
        if length == -1 {
            return Ok(None);
        }
        if length < 0 {
            return Err(JuteError::InvalidLength(length));
        }
        let length = length as usize;
        if length.saturating_mul(min_element_size) > self.remaining() {
            return Err(JuteError::Truncated {
                needed: length.saturating_mul(min_element_size),
                remaining: self.remaining(),
            });
        }
        Ok(Some(length))
    }

    /// A ustring borrowed from the input, null read as "" (as `String::read`): for readers of
    /// millions of records (a snapshot's paths) that would otherwise allocate one each.
    pub fn read_str(&mut self) -> Result<&'a str, JuteError> {
        match self.read_length(1)? {
            None => Ok(""),
            Some(length) => std::str::from_utf8(self.take(length)?).map_err(|_| JuteError::InvalidUtf8),
        }
    }

    /// Runs `read` over the next `length` bytes as if they were all the input, and fails unless
    /// it consumed them all: a record nested in a buffer field (a multi's sub-txns), read in
    /// place with this reader's way of handing out buffers rather than from a copy.
    pub fn read_within<T>(
        &mut self,
        length: usize,
        read: impl FnOnce(&mut Reader<'a>) -> Result<T, JuteError>,
    ) -> Result<T, JuteError> {
        if length > self.remaining() {
            return Err(JuteError::Truncated { needed: length, remaining: self.remaining() });
        }
        let end = self.position + length;
        let whole = self.input;
        // Only the end moves: positions stay those of the whole input, which a shared buffer's
        // slices are taken by.
        self.input = &whole[..end];
        let result = read(self);
        self.input = whole;
        let value = result?;
        match end - self.position {
            0 => Ok(value),
            extra => Err(JuteError::TrailingBytes(extra)),
        }
    }

    /// Fails unless the whole input was consumed.
    pub fn finish(&self) -> Result<(), JuteError> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(JuteError::TrailingBytes(extra)),
        }
    }
}

/// A value with a jute encoding: primitives, strings, buffers, vectors and records.
pub trait Field: Sized {
    fn write(&self, out: &mut Vec<u8>);
    fn read(reader: &mut Reader<'_>) -> Result<Self, JuteError>;
    /// The smallest encoding, used to bound vector counts by the bytes that remain.
    const MIN_SIZE: usize = 1;
}

/// A jute record (a class in zookeeper.jute).
pub trait Record: Field {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    /// Decodes a record that must span the whole input.
    fn decode(input: &[u8]) -> Result<Self, JuteError> {
        let mut reader = Reader::new(input);
        let record = Self::read(&mut reader)?;
        reader.finish()?;
        Ok(record)
    }
}

impl Field for u8 {
    fn write(&self, out: &mut Vec<u8>) {
        out.put_u8(*self);
    }
    fn read(reader: &mut Reader<'_>) -> Result<Self, JuteError> {
        reader.read_u8()
    }
}

impl Field for bool {
    fn write(&self, out: &mut Vec<u8>) {
        out.put_u8(u8::from(*self));
    }
    // Java's reader treats any non-zero byte as true.
    fn read(reader: &mut Reader<'_>) -> Result<Self, JuteError> {
        Ok(reader.read_u8()? != 0)
    }
}

impl Field for i32 {
    const MIN_SIZE: usize = 4;
    fn write(&self, out: &mut Vec<u8>) {
        out.put_i32(*self);
    }
    fn read(reader: &mut Reader<'_>) -> Result<Self, JuteError> {
        reader.read_i32()
    }
}

impl Field for i64 {
    const MIN_SIZE: usize = 8;
    fn write(&self, out: &mut Vec<u8>) {
        out.put_i64(*self);
    }
    fn read(reader: &mut Reader<'_>) -> Result<Self, JuteError> {
        reader.read_i64()
    }
}

pub(crate) fn write_length(out: &mut Vec<u8>, length: usize) {
    out.put_i32(length_field(length));
}

/// The length prefix of a buffer field of `length` bytes, for a writer that sends the bytes
/// themselves apart (a large value shared into a vectored write rather than copied).
pub fn write_buffer_length(out: &mut Vec<u8>, length: usize) {
    write_length(out, length);
}

/// A length or count as jute stores it. Lengths come from values already bounded by the frame
/// size; i32::MAX is never reached.
pub(crate) fn length_field(length: usize) -> i32 {
    i32::try_from(length).unwrap_or(i32::MAX)
}

/// ustring: null decodes as "".
impl Field for String {
    const MIN_SIZE: usize = 4;
    fn write(&self, out: &mut Vec<u8>) {
        write_length(out, self.len());
        out.put_slice(self.as_bytes());
    }
    fn read(reader: &mut Reader<'_>) -> Result<Self, JuteError> {
        Ok(Option::<String>::read(reader)?.unwrap_or_default())
    }
}

/// A ustring whose null (-1) is kept apart from "".
impl Field for Option<String> {
    const MIN_SIZE: usize = 4;
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            None => out.put_i32(-1),
            Some(text) => text.write(out),
        }
    }
    fn read(reader: &mut Reader<'_>) -> Result<Self, JuteError> {
        match reader.read_length(1)? {
            None => Ok(None),
            Some(length) => {
                let bytes = reader.take(length)?;
                String::from_utf8(bytes.to_vec()).map(Some).map_err(|_| JuteError::InvalidUtf8)
            }
        }
    }
}

/// buffer: null decodes as empty.
impl Field for Bytes {
    const MIN_SIZE: usize = 4;
    fn write(&self, out: &mut Vec<u8>) {
        write_length(out, self.len());
        out.put_slice(self);
    }
    fn read(reader: &mut Reader<'_>) -> Result<Self, JuteError> {
        Ok(Option::<Bytes>::read(reader)?.unwrap_or_default())
    }
}

/// A buffer whose null (-1) is kept apart from empty: znode data.
impl Field for Option<Bytes> {
    const MIN_SIZE: usize = 4;
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            None => out.put_i32(-1),
            Some(bytes) => bytes.write(out),
        }
    }
    fn read(reader: &mut Reader<'_>) -> Result<Self, JuteError> {
        match reader.read_length(1)? {
            None => Ok(None),
            Some(length) => Ok(Some(reader.take_buffer(length)?)),
        }
    }
}

/// vector<T>: null decodes as empty.
impl<T: Field> Field for Vec<T> {
    const MIN_SIZE: usize = 4;
    fn write(&self, out: &mut Vec<u8>) {
        write_length(out, self.len());
        for element in self {
            element.write(out);
        }
    }
    fn read(reader: &mut Reader<'_>) -> Result<Self, JuteError> {
        let count = reader.read_length(T::MIN_SIZE)?.unwrap_or(0);
        // An element's in-memory size can exceed its smallest encoding (a 12-byte ACL is a 56-byte
        // struct), so preallocate no more memory than there are input bytes left; a genuine long
        // vector still decodes, growing as elements actually arrive.
        let capacity = count.min(reader.remaining() / std::mem::size_of::<T>().max(1));
        let mut elements = Vec::with_capacity(capacity);
        for _ in 0..count {
            elements.push(T::read(reader)?);
        }
        Ok(elements)
    }
}

/// Declares jute records: a plain struct whose fields are encoded in declaration order.
#[macro_export]
macro_rules! jute_record {
    ($(
        $(#[$meta:meta])*
        pub struct $name:ident { $( $(#[$field_meta:meta])* pub $field:ident : $type:ty ),* $(,)? }
    )*) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
        pub struct $name { $( $(#[$field_meta])* pub $field: $type ),* }

        impl $crate::Field for $name {
            /// The sum of the fields' smallest encodings (at least 1), so that a vector count is
            /// checked against what its elements need at the least.
            const MIN_SIZE: usize = {
                let sum = 0 $( + <$type as $crate::Field>::MIN_SIZE )*;
                if sum == 0 { 1 } else { sum }
            };
            fn write(&self, _out: &mut Vec<u8>) {
                $( $crate::Field::write(&self.$field, _out); )*
            }
            fn read(_reader: &mut $crate::Reader<'_>) -> Result<Self, $crate::JuteError> {
                Ok($name { $( $field: <$type as $crate::Field>::read(_reader)? ),* })
            }
        }

        impl $crate::Record for $name {}
    )*};
}
