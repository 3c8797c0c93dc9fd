//! Znode path rules: Java's `PathUtils.validatePath`, rule for rule, and the parent / child split.
//!
//! Java checks a path as a sequence of UTF-16 code units, and so do we: the positions in the
//! messages (`@i`) are UTF-16 indexes, and every character outside the Basic Multilingual Plane
//! is rejected because its first (high surrogate) unit lies in U+D800–U+F8FF.

use std::fmt;

/// Why a path is not a valid znode path. `Display` gives Java's `IllegalArgumentException`
/// message, which ZooKeeper logs ("Invalid path ... reason: ...").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// The empty string.
    Empty,
    /// The first character is not `/`.
    NoLeadingSlash,
    /// A path other than `/` ends with `/`.
    TrailingSlash,
    /// A rule broken at UTF-16 index `index` of `path`.
    Invalid { path: String, reason: InvalidReason, index: usize },
}

/// The rules checked character by character, in the order Java checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidReason {
    /// U+0000.
    NullCharacter,
    /// `//`.
    EmptyNodeName,
    /// A `.` or `..` component.
    RelativePath,
    /// U+0001–U+001F, U+007F–U+009F, U+D800–U+F8FF (surrogates and private use), U+FFF0–U+FFFF.
    InvalidCharacter,
}

impl InvalidReason {
    fn text(self) -> &'static str {
        match self {
            InvalidReason::NullCharacter => "null character not allowed",
            InvalidReason::EmptyNodeName => "empty node name specified",
            InvalidReason::RelativePath => "relative paths not allowed",
            InvalidReason::InvalidCharacter => "invalid character",
        }
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::Empty => f.write_str("Path length must be > 0"),
            PathError::NoLeadingSlash => f.write_str("Path must start with / character"),
            PathError::TrailingSlash => f.write_str("Path must not end with / character"),
            PathError::Invalid { path, reason, index } => {
                write!(f, "Invalid path string \"{path}\" caused by {} @{index}", reason.text())
            }
        }
    }
}

impl std::error::Error for PathError {}

const SLASH: u16 = b'/' as u16;
const DOT: u16 = b'.' as u16;

/// Whether a UTF-16 code unit is one Java refuses in a path (NUL is reported separately).
fn is_invalid_unit(unit: u16) -> bool {
    matches!(unit, 0x0001..=0x001F | 0x007F..=0x009F | 0xD800..=0xF8FF | 0xFFF0..=0xFFFF)
}

/// Java's `PathUtils.validatePath(path)`: the checks, their order and the position reported
/// are Java's, so the first broken rule is the one named.
pub fn validate_path(path: &str) -> Result<(), PathError> {
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    if !path.starts_with('/') {
        return Err(PathError::NoLeadingSlash);
    }
    if path.len() == 1 {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err(PathError::TrailingSlash);
    }
    // An ASCII path's bytes are its UTF-16 units: checked in place, without a copy.
    if path.is_ascii() {
        check_units(path, path.as_bytes())
    } else {
        check_units(path, &path.encode_utf16().collect::<Vec<u16>>())
    }
}

/// The character rules over `path`'s UTF-16 code units (`units`; bytes for an ASCII path).
fn check_units<U: Copy + Into<u16>>(path: &str, units: &[U]) -> Result<(), PathError> {
    let unit_at = |i: usize| -> u16 { units[i].into() };
    let fail = |reason, index| Err(PathError::Invalid { path: path.to_owned(), reason, index });
    // A component is `.` or `..` when the dot run starts after a `/` and ends at `/` or the end.
    let component_ends_after = |i: usize| i + 1 == units.len() || unit_at(i + 1) == SLASH;
    let mut previous = SLASH;
    for i in 1..units.len() {
        let unit = unit_at(i);
        if unit == 0 {
            return fail(InvalidReason::NullCharacter, i);
        } else if unit == SLASH && previous == SLASH {
            return fail(InvalidReason::EmptyNodeName, i);
        } else if unit == DOT && previous == DOT {
            if unit_at(i - 2) == SLASH && component_ends_after(i) {
                return fail(InvalidReason::RelativePath, i);
            }
        } else if unit == DOT {
            if previous == SLASH && component_ends_after(i) {
                return fail(InvalidReason::RelativePath, i);
            }
        } else if is_invalid_unit(unit) {
            return fail(InvalidReason::InvalidCharacter, i);
        }
        previous = unit;
    }
    Ok(())
}

/// Java's `PathUtils.validatePath(path, isSequential)`: a sequential create's path is checked
/// with a digit appended, so it may end in `/` (the server appends the sequence number).
pub fn validate_path_sequential(path: &str, is_sequential: bool) -> Result<(), PathError> {
    if is_sequential {
        validate_path(&format!("{path}1"))
    } else {
        validate_path(path)
    }
}

/// The parent of a znode path: `/a/b` → `/a`, `/a` → `/`. `None` for `/` and for strings
/// without a `/`. The path is not validated.
pub fn parent_of(path: &str) -> Option<&str> {
    match path.rfind('/')? {
        0 if path.len() == 1 => None,
        0 => Some("/"),
        slash => Some(&path[..slash]),
    }
}

/// The last component of a znode path: `/a/b` → `b`, `/` → `` (the whole string when it has no
/// `/`). The path is not validated.
pub fn child_name(path: &str) -> &str {
    match path.rfind('/') {
        Some(slash) => &path[slash + 1..],
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_javas() {
        assert_eq!(validate_path("").unwrap_err().to_string(), "Path length must be > 0");
        assert_eq!(validate_path("a").unwrap_err().to_string(), "Path must start with / character");
        assert_eq!(validate_path("/a/").unwrap_err().to_string(), "Path must not end with / character");
        assert_eq!(
            validate_path("/a//b").unwrap_err().to_string(),
            "Invalid path string \"/a//b\" caused by empty node name specified @3"
        );
    }

    #[test]
    fn ascii_paths_checked_in_place_match_the_utf16_check() {
        let alphabet = ['/', '.', 'a', 'Z', '0', '\u{0}', '\u{1}', '\u{1f}', '\u{7f}', '-', '_', ' '];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = 2 + (seed % 9) as usize;
            let path: String = std::iter::once('/')
                .chain((1..len).map(|i| alphabet[((seed >> (i * 4)) % alphabet.len() as u64) as usize]))
                .collect();
            let units: Vec<u16> = path.encode_utf16().collect();
            assert_eq!(check_units(&path, path.as_bytes()), check_units(&path, &units), "{path:?}");
        }
    }

    #[test]
    fn parent_and_child() {
        assert_eq!(parent_of("/a/b"), Some("/a"));
        assert_eq!(parent_of("/a"), Some("/"));
        assert_eq!(parent_of("/"), None);
        assert_eq!(parent_of("a"), None);
        assert_eq!(child_name("/a/b"), "b");
        assert_eq!(child_name("/"), "");
    }
}
