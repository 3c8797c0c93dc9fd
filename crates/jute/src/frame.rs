//! Length-prefixed framing of the client port: `int32 length` then that many bytes.

/// Why a frame's length prefix was refused; the connection is closed, as Java does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("negative frame length {0}")]
    Negative(i32),
    #[error("frame length {length} exceeds jute.maxbuffer {max}")]
    TooLarge { length: usize, max: usize },
}

/// Validates a 4-byte length prefix against `max_buffer` (jute.maxbuffer).
pub fn frame_length(prefix: [u8; 4], max_buffer: usize) -> Result<usize, FrameError> {
    let length = i32::from_be_bytes(prefix);
    if length < 0 {
        return Err(FrameError::Negative(length));
    }
    let length = length as usize;
    if length > max_buffer {
        return Err(FrameError::TooLarge { length, max: max_buffer });
    }
    Ok(length)
}

/// Splits one complete frame off the front of `buffer`, if it holds one.
/// Returns the payload range and the total bytes consumed.
pub fn split_frame(
    buffer: &[u8],
    max_buffer: usize,
) -> Result<Option<(std::ops::Range<usize>, usize)>, FrameError> {
    if buffer.len() < 4 {
        return Ok(None);
    }
    let length = frame_length([buffer[0], buffer[1], buffer[2], buffer[3]], max_buffer)?;
    if buffer.len() < 4 + length {
        return Ok(None);
    }
    Ok(Some((4..4 + length, 4 + length)))
}
