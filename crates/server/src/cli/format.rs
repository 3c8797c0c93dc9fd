//! How zkCli prints things: stats, ACLs, dates, error messages.

use jute::consts::{err, perms};
use jute::records::{Acl, Stat};
use std::fmt::Write as _;

/// `java.util.Date.toString()` in UTC: `Wed Nov 25 15:51:40 UTC 2026`.
pub fn java_date(epoch_ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let secs = epoch_ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = crate::logging::civil_from_days(days);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        year
    )
}

/// StatPrinter.
pub fn stat(stat: &Stat) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "cZxid = 0x{:x}", stat.czxid);
    let _ = writeln!(out, "ctime = {}", java_date(stat.ctime));
    let _ = writeln!(out, "mZxid = 0x{:x}", stat.mzxid);
    let _ = writeln!(out, "mtime = {}", java_date(stat.mtime));
    let _ = writeln!(out, "pZxid = 0x{:x}", stat.pzxid);
    let _ = writeln!(out, "cversion = {}", stat.cversion);
    let _ = writeln!(out, "dataVersion = {}", stat.version);
    let _ = writeln!(out, "aclVersion = {}", stat.aversion);
    let _ = writeln!(out, "ephemeralOwner = 0x{:x}", stat.ephemeral_owner);
    let _ = writeln!(out, "dataLength = {}", stat.data_length);
    let _ = writeln!(out, "numChildren = {}", stat.num_children);
    out
}

/// jute's CSV string form (Utils.toCSVString), as records print in toString.
fn csv(text: &str) -> String {
    let mut out = String::from("'");
    for c in text.chars() {
        match c {
            '\0' => out.push_str("%00"),
            '\n' => out.push_str("%0A"),
            '\r' => out.push_str("%0D"),
            ',' => out.push_str("%2C"),
            '}' => out.push_str("%7D"),
            '%' => out.push_str("%25"),
            c => out.push(c),
        }
    }
    out
}

/// GetAclCommand: `Id.toString()` (`'scheme,'id` and a newline) then `: perms`.
pub fn acl(acl: &Acl) -> String {
    format!("{},{}\n: {}\n", csv(&acl.id.scheme), csv(&acl.id.id), perm_string(acl.perms))
}

/// ZKUtil.getPermString.
pub fn perm_string(value: i32) -> String {
    let mut out = String::new();
    for (bit, letter) in [
        (perms::CREATE, 'c'),
        (perms::DELETE, 'd'),
        (perms::READ, 'r'),
        (perms::WRITE, 'w'),
        (perms::ADMIN, 'a'),
    ] {
        if value & bit != 0 {
            out.push(letter);
        }
    }
    out
}

/// AclParser.getPermFromString: unknown letters are reported on stderr and skipped.
pub fn parse_perms(text: &str) -> i32 {
    let mut value = 0;
    for c in text.chars() {
        match c {
            'r' => value |= perms::READ,
            'w' => value |= perms::WRITE,
            'c' => value |= perms::CREATE,
            'd' => value |= perms::DELETE,
            'a' => value |= perms::ADMIN,
            other => eprintln!("Unknown perm type: {other}"),
        }
    }
    value
}

/// AclParser.parse: `scheme:id:perms[,…]`; malformed entries are reported and skipped.
pub fn parse_acl(text: &str) -> Vec<Acl> {
    let mut acls = Vec::new();
    for entry in text.split(',') {
        let (Some(first), Some(last)) = (entry.find(':'), entry.rfind(':')) else {
            eprintln!("{entry} does not have the form scheme:id:perm");
            continue;
        };
        if first == last {
            eprintln!("{entry} does not have the form scheme:id:perm");
            continue;
        }
        acls.push(Acl::new(parse_perms(&entry[last + 1..]), &entry[..first], &entry[first + 1..last]));
    }
    acls
}

/// KeeperException.Code's message.
pub fn code_message(code: i32) -> String {
    let text = match code {
        err::OK => "ok",
        err::SYSTEM_ERROR => "SystemError",
        err::RUNTIME_INCONSISTENCY => "RuntimeInconsistency",
        err::DATA_INCONSISTENCY => "DataInconsistency",
        err::CONNECTION_LOSS => "ConnectionLoss",
        err::MARSHALLING_ERROR => "MarshallingError",
        err::NEW_CONFIG_NO_QUORUM => "NewConfigNoQuorum",
        err::RECONFIG_IN_PROGRESS => "ReconfigInProgress",
        err::UNIMPLEMENTED => "Unimplemented",
        err::OPERATION_TIMEOUT => "OperationTimeout",
        err::BAD_ARGUMENTS => "BadArguments",
        err::UNKNOWN_SESSION => "Unknown session",
        err::API_ERROR => "APIError",
        err::NO_NODE => "NoNode",
        err::NO_AUTH => "NoAuth",
        err::BAD_VERSION => "BadVersion",
        err::NO_CHILDREN_FOR_EPHEMERALS => "NoChildrenForEphemerals",
        err::NODE_EXISTS => "NodeExists",
        err::INVALID_ACL => "InvalidACL",
        err::AUTH_FAILED => "AuthFailed",
        err::NOT_EMPTY => "Directory not empty",
        err::SESSION_EXPIRED => "Session expired",
        err::INVALID_CALLBACK => "Invalid callback",
        err::SESSION_MOVED => "Session moved",
        err::NOT_READ_ONLY => "Not a read-only call",
        err::EPHEMERAL_ON_LOCAL_SESSION => "Ephemeral node on local session",
        err::NO_WATCHER => "No such watcher",
        err::RECONFIG_DISABLED => "Reconfig is disabled",
        err::SESSION_CLOSED_REQUIRE_SASL_AUTH => "Session closed because client failed to authenticate",
        err::QUOTA_EXCEEDED => "Quota has exceeded",
        err::THROTTLED_OP => "Op throttled due to high load",
        err::REQUEST_TIMEOUT => "Request timeout",
        other => return format!("Unknown error {other}"),
    };
    text.to_owned()
}

/// KeeperException.getMessage.
pub fn keeper_exception(code: i32, path: Option<&str>) -> String {
    match path {
        Some(path) => format!("KeeperErrorCode = {} for {path}", code_message(code)),
        None => format!("KeeperErrorCode = {}", code_message(code)),
    }
}

/// CliWrappedException's message for a KeeperException.
pub fn wrapped(code: i32, path: Option<&str>) -> String {
    let shown = path.unwrap_or("null");
    match code {
        err::NO_NODE => format!("Node does not exist: {shown}"),
        err::NO_CHILDREN_FOR_EPHEMERALS => format!("Ephemerals cannot have children: {shown}"),
        err::NODE_EXISTS => format!("Node already exists: {shown}"),
        err::NOT_EMPTY => format!("Node not empty: {shown}"),
        err::NOT_READ_ONLY => format!("Not a read-only call: {shown}"),
        err::INVALID_ACL => format!("Acl is not valid : {shown}"),
        err::NO_AUTH => format!("Insufficient permission : {shown}"),
        err::BAD_ARGUMENTS => format!("Arguments are not valid : {shown}"),
        err::BAD_VERSION => format!("version No is not valid : {shown}"),
        err::RECONFIG_IN_PROGRESS => {
            "Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)".to_owned()
        }
        err::NEW_CONFIG_NO_QUORUM => "No quorum of new config is connected and up-to-date with the leader of \
                                      last commmitted config - try invoking reconfiguration after new servers \
                                      are connected and synced"
            .to_owned(),
        other => keeper_exception(other, path),
    }
}

/// PathUtils.validatePath: the message Java's IllegalArgumentException carries.
pub fn validate_path(path: &str, sequential: bool) -> Result<(), String> {
    if sequential {
        return validate_path(&format!("{path}1"), false);
    }
    if path.is_empty() {
        return Err("Path length must be > 0".into());
    }
    if !path.starts_with('/') {
        return Err("Path must start with / character".into());
    }
    if path.len() == 1 {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err("Path must not end with / character".into());
    }
    let chars: Vec<char> = path.chars().collect();
    let mut reason = None;
    let mut last = '/';
    for (i, &c) in chars.iter().enumerate().skip(1) {
        if c == '\0' {
            reason = Some(format!("null character not allowed @{i}"));
            break;
        } else if c == '/' && last == '/' {
            reason = Some(format!("empty node name specified @{i}"));
            break;
        } else if c == '.' && last == '.' {
            if chars[i - 2] == '/' && (i + 1 == chars.len() || chars[i + 1] == '/') {
                reason = Some(format!("relative paths not allowed @{i}"));
                break;
            }
        } else if c == '.' {
            if chars[i - 1] == '/' && (i + 1 == chars.len() || chars[i + 1] == '/') {
                reason = Some(format!("relative paths not allowed @{i}"));
                break;
            }
        } else if ('\u{1}'..='\u{1f}').contains(&c)
            || ('\u{7f}'..='\u{9f}').contains(&c)
            || ('\u{e000}'..='\u{f8ff}').contains(&c)
            || ('\u{fff0}'..='\u{ffff}').contains(&c)
        {
            reason = Some(format!("invalid character @{i}"));
            break;
        }
        last = c;
    }
    match reason {
        Some(reason) => Err(format!("Invalid path string \"{path}\" caused by {reason}")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_print_like_java() {
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(java_date(1_795_621_900_043), "Wed Nov 25 15:51:40 UTC 2026");
    }

    #[test]
    fn acls_print_and_parse_like_zkcli() {
        let parsed = parse_acl("world:anyone:cdrwa,digest:alice:x=:r");
        assert_eq!(parsed.len(), 2);
        assert_eq!(acl(&parsed[0]), "'world,'anyone\n: cdrwa\n");
        assert_eq!(acl(&parsed[1]), "'digest,'alice:x=\n: r\n");
        assert!(parse_acl("c:d").is_empty());
    }

    #[test]
    fn paths_are_validated_like_java() {
        assert!(validate_path("/a/b", false).is_ok());
        assert!(validate_path("/", false).is_ok());
        assert_eq!(validate_path("a", false), Err("Path must start with / character".into()));
        assert_eq!(validate_path("/a/", false), Err("Path must not end with / character".into()));
        assert!(validate_path("/a/", true).is_ok());
        assert_eq!(
            validate_path("/a//b", false),
            Err("Invalid path string \"/a//b\" caused by empty node name specified @3".into())
        );
        assert!(validate_path("/a/../b", false).is_err());
    }

    #[test]
    fn errors_read_like_cli_wrapped_exceptions() {
        assert_eq!(wrapped(err::NO_NODE, Some("/x")), "Node does not exist: /x");
        assert_eq!(wrapped(err::NO_WATCHER, Some("/g")), "KeeperErrorCode = No such watcher for /g");
    }
}
