//! Path rules (Java's PathUtils.validatePath), checked against vectors produced by the
//! ZooKeeper 3.8.0 jar (prep_golden/AclPathGolden.java) and against a reference predicate.

use datatree::path::{
    child_name, parent_of, validate_path, validate_path_sequential, InvalidReason, PathError,
};
use proptest::prelude::*;

fn unhex(text: &str) -> String {
    if text == "-" {
        return String::new();
    }
    let bytes: Vec<u8> =
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect();
    String::from_utf8(bytes).unwrap()
}

/// What the golden file says for a result: `ok`, or Java's message with the
/// `Invalid path string "<path>" caused by ` prefix cut to `invalid:`.
fn describe(path: &str, result: Result<(), PathError>) -> String {
    match result {
        Ok(()) => "ok".to_owned(),
        Err(error) => {
            let message = error.to_string();
            let prefix = format!("Invalid path string \"{path}\" caused by ");
            match message.strip_prefix(&prefix) {
                Some(rest) => format!("err\tinvalid:{rest}"),
                None => format!("err\t{message}"),
            }
        }
    }
}

#[test]
fn every_path_vector_of_the_java_jar_gives_the_same_verdict_and_message() {
    let golden = include_str!("prep_golden/acl_path.txt");
    let mut checked = 0;
    for line in golden.lines().filter(|line| line.starts_with("path\t")) {
        let mut fields = line.splitn(3, '\t');
        fields.next();
        let path = unhex(fields.next().unwrap());
        let expected = fields.next().unwrap();
        assert_eq!(describe(&path, validate_path(&path)), expected, "path {path:?}");
        checked += 1;
    }
    assert!(checked > 3000, "only {checked} vectors");
}

fn invalid(path: &str, reason: InvalidReason, index: usize) -> Result<(), PathError> {
    Err(PathError::Invalid { path: path.to_owned(), reason, index })
}

#[test]
fn the_first_rule_broken_is_the_one_reported() {
    use InvalidReason::*;
    assert_eq!(validate_path(""), Err(PathError::Empty));
    assert_eq!(validate_path("a/b"), Err(PathError::NoLeadingSlash));
    assert_eq!(validate_path("/"), Ok(()));
    // The trailing slash is checked before any character.
    assert_eq!(validate_path("/a//"), Err(PathError::TrailingSlash));
    assert_eq!(validate_path("/\0/"), Err(PathError::TrailingSlash));
    assert_eq!(validate_path("/a//b"), invalid("/a//b", EmptyNodeName, 3));
    assert_eq!(validate_path("/\u{1}//x"), invalid("/\u{1}//x", InvalidCharacter, 1));
    assert_eq!(validate_path("/a\0b"), invalid("/a\0b", NullCharacter, 2));
}

#[test]
fn dot_and_dot_dot_components_are_refused_but_dots_in_names_are_not() {
    use InvalidReason::RelativePath;
    assert_eq!(validate_path("/."), invalid("/.", RelativePath, 1));
    assert_eq!(validate_path("/.."), invalid("/..", RelativePath, 2));
    assert_eq!(validate_path("/a/./b"), invalid("/a/./b", RelativePath, 3));
    // Reported at the second dot.
    assert_eq!(validate_path("/a/../b"), invalid("/a/../b", RelativePath, 4));
    for fine in ["/...", "/.a", "/a.", "/..a", "/a..", "/a.b/c..d"] {
        assert_eq!(validate_path(fine), Ok(()), "{fine}");
    }
}

#[test]
fn character_ranges_are_javas_including_private_use_and_specials() {
    let refused =
        ['\u{1}', '\u{1f}', '\u{7f}', '\u{9f}', '\u{e000}', '\u{f8ff}', '\u{fff0}', '\u{fffd}', '\u{ffff}'];
    for c in refused {
        let path = format!("/a{c}");
        assert_eq!(validate_path(&path), invalid(&path, InvalidReason::InvalidCharacter, 2), "{c:?}");
    }
    for c in [' ', '\u{a0}', 'é', '\u{d7ff}', '\u{f900}', '\u{ffef}', '\u{2028}'] {
        assert_eq!(validate_path(&format!("/a{c}")), Ok(()), "{c:?}");
    }
}

#[test]
fn characters_beyond_the_bmp_are_refused_at_their_utf16_index() {
    // U+1F600 is a surrogate pair in Java; its high surrogate is in U+D800–U+F8FF.
    assert_eq!(validate_path("/ab😀"), invalid("/ab😀", InvalidReason::InvalidCharacter, 3));
    // é and € are one UTF-16 unit each, whatever their UTF-8 length.
    assert_eq!(validate_path("/é€\u{e000}"), invalid("/é€\u{e000}", InvalidReason::InvalidCharacter, 3));
    // A surrogate pair counts two units for the positions after it.
    let path = "/😀/.";
    assert_eq!(
        validate_path(path),
        Err(PathError::Invalid { path: path.into(), reason: InvalidReason::InvalidCharacter, index: 1 })
    );
}

#[test]
fn a_sequential_path_is_checked_with_a_digit_appended() {
    assert_eq!(validate_path_sequential("/a/", true), Ok(()));
    assert_eq!(validate_path_sequential("/a/", false), Err(PathError::TrailingSlash));
    assert_eq!(validate_path_sequential("/", true), Ok(()));
    // "/a/." + "1" is a name, not a dot component.
    assert_eq!(validate_path_sequential("/a/.", true), Ok(()));
    assert!(validate_path_sequential("/a//", true).is_err());
}

#[test]
fn parent_and_child_name() {
    assert_eq!(parent_of("/a/b/c"), Some("/a/b"));
    assert_eq!(parent_of("/a"), Some("/"));
    assert_eq!(parent_of("/"), None);
    assert_eq!(parent_of("nothing"), None);
    assert_eq!(child_name("/a/b/c"), "c");
    assert_eq!(child_name("/a"), "a");
    assert_eq!(child_name("/"), "");
}

/// An independent statement of the rules: `/`, or `/`-separated non-empty components that are
/// not `.` or `..` and hold only allowed characters.
fn reference_is_valid(path: &str) -> bool {
    if path == "/" {
        return true;
    }
    let Some(rest) = path.strip_prefix('/') else { return false };
    let allowed = |c: char| {
        !matches!(c, '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{e000}'..='\u{f8ff}' | '\u{fff0}'..='\u{ffff}')
            && c <= '\u{ffff}'
    };
    rest.split('/').all(|name| !name.is_empty() && name != "." && name != ".." && name.chars().all(allowed))
}

fn path_strategy() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => Just('/'),
        3 => Just('.'),
        3 => prop::char::range('a', 'c'),
        1 => Just('\0'),
        1 => prop::char::range('\u{1}', '\u{a0}'),
        1 => prop::char::range('\u{d000}', '\u{d7ff}'),
        1 => prop::char::range('\u{e000}', '\u{f8ff}'),
        1 => prop::char::range('\u{f800}', '\u{ffff}'),
        1 => any::<char>(),
    ];
    (any::<bool>(), prop::collection::vec(piece, 0..10))
        .prop_map(|(slash, chars)| (if slash { "/" } else { "" }).chars().chain(chars).collect())
}

proptest! {
    #[test]
    fn validate_path_agrees_with_the_reference(path in path_strategy()) {
        prop_assert_eq!(validate_path(&path).is_ok(), reference_is_valid(&path), "{:?}", path);
    }

    #[test]
    fn sequential_validation_is_validation_with_a_digit(path in path_strategy(), sequential: bool) {
        let expected = if sequential { reference_is_valid(&format!("{path}1")) } else { reference_is_valid(&path) };
        prop_assert_eq!(validate_path_sequential(&path, sequential).is_ok(), expected);
    }
}
