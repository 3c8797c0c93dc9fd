//! A small ordered JSON value and the exact text Jackson's default pretty printer makes of it,
//! which is what Java's AdminServer sends: `"key" : value`, two spaces per object level, arrays
//! on one line (`[ 1, 2 ]`, `[ ]`), empty objects as `{ }`, no trailing newline.

use std::fmt::Write as _;

/// A JSON value whose objects keep their insertion order (Java's LinkedHashMap).
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    /// Printed as Java's Double.toString prints it.
    Float(f64),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl From<&str> for Json {
    fn from(value: &str) -> Self {
        Json::Str(value.to_owned())
    }
}
impl From<String> for Json {
    fn from(value: String) -> Self {
        Json::Str(value)
    }
}
impl From<i64> for Json {
    fn from(value: i64) -> Self {
        Json::Int(value)
    }
}
impl From<u64> for Json {
    fn from(value: u64) -> Self {
        Json::Int(value as i64)
    }
}
impl From<i32> for Json {
    fn from(value: i32) -> Self {
        Json::Int(i64::from(value))
    }
}
impl From<usize> for Json {
    fn from(value: usize) -> Self {
        Json::Int(value as i64)
    }
}
impl From<bool> for Json {
    fn from(value: bool) -> Self {
        Json::Bool(value)
    }
}
impl From<f64> for Json {
    fn from(value: f64) -> Self {
        Json::Float(value)
    }
}

/// Builds an ordered object: `object([("a", 1.into()), ...])`.
pub fn object<K: Into<String>>(fields: impl IntoIterator<Item = (K, Json)>) -> Json {
    Json::Object(fields.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

impl Json {
    /// Appends a field to an object (no-op on other values).
    pub fn push(&mut self, key: &str, value: impl Into<Json>) {
        if let Json::Object(fields) = self {
            fields.push((key.to_owned(), value.into()));
        }
    }

    /// Jackson's DefaultPrettyPrinter output.
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out
    }

    fn write(&self, out: &mut String, depth: usize) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Json::Float(f) => out.push_str(&java_double_to_string(*f)),
            Json::Str(s) => write_string(out, s),
            Json::Array(items) => {
                if items.is_empty() {
                    out.push_str("[ ]");
                    return;
                }
                out.push_str("[ ");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write(out, depth);
                }
                out.push_str(" ]");
            }
            Json::Object(fields) => {
                if fields.is_empty() {
                    out.push_str("{ }");
                    return;
                }
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    out.push_str(if i > 0 { ",\n" } else { "\n" });
                    indent(out, depth + 1);
                    write_string(out, key);
                    out.push_str(" : ");
                    value.write(out, depth + 1);
                }
                out.push('\n');
                indent(out, depth);
                out.push('}');
            }
        }
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Java's Double.toString for the values servers print (no exponent form below 10^7).
pub fn java_double_to_string(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if value.fract() == 0.0 && value.abs() < 1e7 {
        return format!("{value:.1}");
    }
    let text = format!("{value}");
    if text.contains('.') || text.contains('e') {
        text
    } else {
        format!("{text}.0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_jackson() {
        let value = object([
            ("connections", Json::Array(vec![object([("a", 1i64.into()), ("b", Json::Null)])])),
            ("empty", Json::Array(vec![])),
            ("map", object::<String>([])),
            ("ids", Json::Array(vec![1i64.into(), 2i64.into()])),
            ("avg", 0.0.into()),
            ("command", "stats".into()),
        ]);
        assert_eq!(
            value.pretty(),
            "{\n  \"connections\" : [ {\n    \"a\" : 1,\n    \"b\" : null\n  } ],\n  \"empty\" : [ ],\n  \
             \"map\" : { },\n  \"ids\" : [ 1, 2 ],\n  \"avg\" : 0.0,\n  \"command\" : \"stats\"\n}"
        );
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(Json::from("a\"b\n").pretty(), "\"a\\\"b\\n\"");
    }
}
