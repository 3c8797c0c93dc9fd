//! Authentication providers, the ACL check and the `auth` fixup, checked against vectors from
//! the ZooKeeper 3.8.0 jar (prep_golden/AclPathGolden.java) and spec sentences.

use datatree::acl::*;
use jute::consts::{err, perms};
use jute::records::{Acl, ClientInfo, Id};

fn golden(kind: &str) -> impl Iterator<Item = Vec<&'static str>> + '_ {
    include_str!("prep_golden/acl_path.txt")
        .lines()
        .filter(move |line| line.split('\t').next() == Some(kind))
        .map(|line| line.split('\t').skip(1).collect())
}

fn unhex(text: &str) -> String {
    if text == "-" {
        return String::new();
    }
    let bytes: Vec<u8> =
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect();
    String::from_utf8(bytes).unwrap()
}

fn parse_ids(text: &str) -> Vec<Id> {
    if text == "-" {
        return Vec::new();
    }
    text.split(';')
        .map(|id| {
            let (scheme, id) = id.split_once('=').unwrap();
            Id::new(scheme, id)
        })
        .collect()
}

fn parse_acl(text: &str) -> Vec<Acl> {
    if text == "-" {
        return Vec::new();
    }
    text.split(';')
        .map(|entry| {
            let mut fields = entry.splitn(3, ',');
            let perms = fields.next().unwrap().parse().unwrap();
            Acl::new(perms, fields.next().unwrap(), fields.next().unwrap())
        })
        .collect()
}

fn format_acl(acl: &[Acl]) -> String {
    if acl.is_empty() {
        return "-".into();
    }
    acl.iter().map(|a| format!("{},{},{}", a.perms, a.id.scheme, a.id.id)).collect::<Vec<_>>().join(";")
}

fn auth_of(ids: Vec<Id>) -> AuthInfo {
    AuthInfo { ids, skip_acl: false }
}

#[test]
fn digest_of_super_test_is_the_documented_vector() {
    assert_eq!(digest_id("super:test"), "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
}

#[test]
fn digest_ids_match_java_generate_digest() {
    let mut count = 0;
    for fields in golden("digest") {
        assert_eq!(digest_id(&unhex(fields[0])), fields[1]);
        count += 1;
    }
    assert_eq!(count, 8);
}

#[test]
fn ip_validity_and_cidr_matching_match_java() {
    for fields in golden("ipvalid") {
        assert_eq!(ip_is_valid(fields[0]), fields[1] == "true", "isValid({:?})", fields[0]);
        assert_eq!(Provider::Ip.is_valid(fields[0]), fields[1] == "true");
    }
    let mut count = 0;
    for fields in golden("ipmatch") {
        let expected = fields[2] == "true";
        assert_eq!(ip_matches(fields[0], fields[1]), expected, "matches({:?}, {:?})", fields[0], fields[1]);
        assert_eq!(scheme_matches("ip", fields[0], fields[1]), expected);
        count += 1;
    }
    assert!(count > 300);
}

#[test]
fn ip_matching_is_a_prefix_match_and_3_8_0_knows_ipv4_only() {
    assert!(ip_matches("10.1.2.3", "10.0.0.0/8"));
    assert!(!ip_matches("11.1.2.3", "10.0.0.0/8"));
    assert!(ip_matches("192.168.1.200", "192.168.1.128/25"));
    assert!(!ip_matches("192.168.1.7", "192.168.1.128/25"));
    assert!(ip_matches("8.8.8.8", "1.2.3.4/0"));
    assert!(!ip_matches("10.0.0.1", "10.0.0.1/33"));
    // IPv6 support came after 3.8 (ZOOKEEPER-4240): never valid, never matching.
    assert!(!ip_is_valid("::1"));
    assert!(!ip_matches("0:0:0:0:0:0:0:1", "0:0:0:0:0:0:0:1"));
}

#[test]
fn digest_validity_matches_java_split() {
    for fields in golden("digestvalid") {
        assert_eq!(digest_is_valid(fields[0]), fields[1] == "true", "isValid({:?})", fields[0]);
    }
}

#[test]
fn fixup_acl_matches_java_for_every_combination() {
    let mut count = 0;
    for fields in golden("fixup") {
        let auth = auth_of(parse_ids(fields[0]));
        let acl = parse_acl(fields[1]);
        let got = match fixup_acl("/p", &auth, &acl) {
            Ok(fixed) => format_acl(&fixed),
            Err(code) => {
                assert_eq!(code, err::INVALID_ACL);
                "InvalidACL".into()
            }
        };
        assert_eq!(got, fields[2], "fixupACL({:?}, {:?})", fields[0], fields[1]);
        count += 1;
    }
    assert_eq!(count, 6 * 19);
}

#[test]
fn the_auth_scheme_expands_to_authenticated_ids_only() {
    let alice = Id::new("digest", digest_id("alice:pw"));
    let auth = auth_of(vec![Id::new("ip", "127.0.0.1"), Id::new("super", ""), alice.clone()]);
    let fixed = fixup_acl("/p", &auth, &[Acl::new(perms::READ, "auth", "")]).unwrap();
    assert_eq!(fixed, vec![Acl { perms: perms::READ, id: alice }]);
    let ip_only = auth_of(vec![Id::new("ip", "127.0.0.1")]);
    assert_eq!(fixup_acl("/p", &ip_only, &[Acl::new(perms::ALL, "auth", "")]), Err(err::INVALID_ACL));
    assert_eq!(fixup_acl("/p", &ip_only, &[]), Err(err::INVALID_ACL));
}

#[test]
fn the_connection_id_set_iterates_in_javas_order() {
    let mut count = 0;
    for fields in golden("order") {
        let mut auth = AuthInfo::default();
        for id in parse_ids(fields[0]) {
            assert!(auth.add_id(id));
        }
        assert_eq!(auth.ids, parse_ids(fields[1]), "inserted {}", fields[0]);
        count += 1;
    }
    assert_eq!(count, 200);
    let mut auth = AuthInfo::default();
    assert!(auth.add_id(Id::new("ip", "127.0.0.1")));
    assert!(!auth.add_id(Id::new("ip", "127.0.0.1")), "an id is kept once");
}

#[test]
fn authenticate_digest_adds_the_digest_id_and_super_when_it_is_the_super_digest() {
    let ids = authenticate("digest", b"alice:pw", None).unwrap();
    assert_eq!(ids, vec![Id::new("digest", digest_id("alice:pw"))]);
    let super_digest = "super:D/InIHSb7yEEbrWz8b9l71RjZJU=";
    let ids = authenticate("digest", b"super:test", Some(super_digest)).unwrap();
    assert_eq!(ids, vec![Id::new("super", ""), Id::new("digest", super_digest)]);
    let ids = authenticate("digest", b"super:wrong", Some(super_digest)).unwrap();
    assert_eq!(ids.len(), 1);
    // Any bytes authenticate; invalid UTF-8 is read with replacement characters.
    let ids = authenticate("digest", b"u:\xff", None).unwrap();
    assert_eq!(ids, vec![Id::new("digest", digest_id("u:\u{fffd}"))]);
}

#[test]
fn authenticate_with_a_scheme_without_provider_fails() {
    for scheme in ["world", "auth", "super", "sasl", "x509", "nonsense", ""] {
        assert_eq!(authenticate(scheme, b"anything", None), Err(err::AUTH_FAILED), "{scheme}");
    }
    // ip: Java re-adds the connection's own address, which the session already has.
    assert_eq!(authenticate("ip", b"10.9.9.9", None), Ok(vec![]));
}

#[test]
fn check_acl_rules() {
    let ip = Id::new("ip", "10.1.2.3");
    let alice = Id::new("digest", digest_id("alice:pw"));
    let caller = auth_of(vec![ip.clone(), alice.clone()]);
    let nobody = auth_of(vec![Id::new("ip", "192.168.0.1")]);
    // An empty list lets everyone in.
    assert_eq!(check_acl(&[], perms::ALL, &nobody), Ok(()));
    // world:anyone with the right bit.
    let read_only = [Acl::new(perms::READ, "world", "anyone")];
    assert_eq!(check_acl(&read_only, perms::READ, &nobody), Ok(()));
    assert_eq!(check_acl(&read_only, perms::WRITE, &nobody), Err(err::NO_AUTH));
    // getACL asks READ|ADMIN: either bit is enough.
    assert_eq!(check_acl(&read_only, perms::READ | perms::ADMIN, &nobody), Ok(()));
    // ip CIDR and digest equality.
    let acl = [Acl::new(perms::WRITE, "ip", "10.0.0.0/8"), Acl { perms: perms::DELETE, id: alice.clone() }];
    assert_eq!(check_acl(&acl, perms::WRITE, &caller), Ok(()));
    assert_eq!(check_acl(&acl, perms::DELETE, &caller), Ok(()));
    assert_eq!(check_acl(&acl, perms::WRITE, &nobody), Err(err::NO_AUTH));
    assert_eq!(check_acl(&acl, perms::CREATE, &caller), Err(err::NO_AUTH));
    // A scheme without provider never matches, even with an equal caller id.
    let odd = auth_of(vec![Id::new("sasl", "bob")]);
    assert_eq!(check_acl(&[Acl::new(perms::ALL, "sasl", "bob")], perms::READ, &odd), Err(err::NO_AUTH));
    // super and skipACL pass everything.
    let admin = auth_of(vec![Id::new("super", "")]);
    assert_eq!(check_acl(&acl, perms::ADMIN, &admin), Ok(()));
    let skip = AuthInfo { ids: vec![], skip_acl: true };
    assert_eq!(check_acl(&acl, perms::ADMIN, &skip), Ok(()));
}

#[test]
fn who_am_i_names_users_as_the_providers_do() {
    let auth = auth_of(vec![
        Id::new("ip", "127.0.0.1"),
        Id::new("super", ""),
        Id::new("digest", digest_id("alice:pw")),
    ]);
    assert_eq!(
        client_infos(&auth),
        vec![
            ClientInfo { auth_scheme: "ip".into(), user: "127.0.0.1".into() },
            ClientInfo { auth_scheme: "super".into(), user: "".into() },
            ClientInfo { auth_scheme: "digest".into(), user: "alice".into() },
        ]
    );
}
