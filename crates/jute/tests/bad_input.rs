//! Hostile and broken input: truncated records, negative and huge lengths, garbage bodies, bad
//! frame prefixes. Decoding must fail with an error — never panic, never overflow the stack, never
//! allocate more than the input it was handed.

mod common;

use common::*;
use jute::consts::op;
use jute::frame::{frame_length, split_frame, FrameError};
use jute::persistence::*;
use jute::proto::*;
use jute::quorum::*;
use jute::records::*;
use jute::request::*;
use jute::txn::*;
use jute::{Bytes, Field, JuteError, Reader, Record};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt::Debug;

// ---- an allocator that remembers this thread's largest allocation ----

struct Tracking;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
}

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Tracking = Tracking;

/// Runs `f` and returns its result with the largest single allocation it made on this thread.
fn largest_allocation<R>(f: impl FnOnce() -> R) -> (R, usize) {
    LARGEST.with(|largest| largest.set(0));
    let result = f();
    (result, LARGEST.with(|largest| largest.get()))
}

// ---- truncation at every cut point ----

/// Every strict prefix of a record's encoding fails to decode (no record of the crate can end
/// early, apart from the optional-byte cases tested separately).
fn every_cut_fails<T: Record + Debug>(value: &T) -> Result<(), TestCaseError> {
    let bytes = value.encode();
    for cut in 0..bytes.len() {
        let result = T::decode(&bytes[..cut]);
        prop_assert!(result.is_err(), "{} of {} bytes decoded as {:?}", cut, bytes.len(), result);
        let mut reader = Reader::new(&bytes[..cut]);
        prop_assert!(T::read(&mut reader).is_err());
    }
    Ok(())
}

macro_rules! truncation_tests {
    ($($name:ident : $t:ty = $strategy:expr;)*) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]
            $(
                #[test]
                fn $name(value in $strategy) {
                    every_cut_fails::<$t>(&value)?;
                }
            )*
        }
    };
}

mod truncated {
    use super::*;
    for_each_record!(truncation_tests);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn truncated_request_bodies(request in arb_request()) {
        let mut body = Vec::new();
        request.write_body(&mut body);
        for cut in 0..body.len() {
            prop_assert!(Request::decode(request.opcode(), &body[..cut]).is_err(), "{:?} cut at {}", request, cut);
        }
    }

    #[test]
    fn truncated_connect(request in arb_connect_request(), response in arb_connect_response()) {
        // Without its optional readOnly byte the record is still whole; shorter is an error.
        let bytes = request.encode();
        let whole = bytes.len() - usize::from(request.read_only.is_some());
        for cut in 0..whole {
            prop_assert!(ConnectRequest::decode(&bytes[..cut]).is_err());
        }
        let bytes = response.encode();
        let whole = bytes.len() - usize::from(response.read_only.is_some());
        for cut in 0..whole {
            prop_assert!(ConnectResponse::decode(&bytes[..cut]).is_err());
        }
    }

    #[test]
    fn truncated_txn_bodies(body in arb_txn_body()) {
        let bytes = body.encode();
        for cut in 0..bytes.len() {
            let result = TxnBody::decode(body.txn_type(), &bytes[..cut]);
            let legal_short_form = match &body {
                // An old create without parentCVersion; a closeSession without a body.
                TxnBody::Create(_) | TxnBody::Create2(_) => cut == bytes.len() - 4,
                TxnBody::CloseSession(_) => cut == 0,
                _ => false,
            };
            prop_assert_eq!(result.is_ok(), legal_short_form, "{:?} cut at {}: {:?}", body, cut, result);
        }
    }
}

// ---- negative and null lengths ----

fn with_length(length: i32, tail: &[u8]) -> Vec<u8> {
    let mut bytes = length.to_be_bytes().to_vec();
    bytes.extend_from_slice(tail);
    bytes
}

fn decode_field<T: Field>(bytes: &[u8]) -> Result<T, JuteError> {
    let mut reader = Reader::new(bytes);
    let value = T::read(&mut reader)?;
    reader.finish()?;
    Ok(value)
}

#[test]
fn negative_lengths_other_than_minus_one_are_errors() {
    for length in [-2, -3, -100, -0x1000_0000, i32::MIN] {
        let bytes = with_length(length, b"abcdefgh");
        let expect = Some(JuteError::InvalidLength(length));
        assert_eq!(decode_field::<String>(&bytes).err(), expect);
        assert_eq!(decode_field::<Option<String>>(&bytes).err(), expect);
        assert_eq!(decode_field::<Bytes>(&bytes).err(), expect);
        assert_eq!(decode_field::<Option<Bytes>>(&bytes).err(), expect);
        assert_eq!(decode_field::<Vec<String>>(&bytes).err(), expect);
        assert_eq!(decode_field::<Vec<Acl>>(&bytes).err(), expect);
        assert_eq!(decode_field::<Vec<i64>>(&bytes).err(), expect);
        assert_eq!(Reader::new(&bytes).read_length(1), Err(JuteError::InvalidLength(length)));
        // Inside records: a path, znode data, an ACL list, a multi result's children.
        assert_eq!(GetDataRequest::decode(&with_length(length, &[0])).err(), expect);
        let mut set_data = with_length(1, b"/");
        set_data.extend_from_slice(&with_length(length, &[0; 4]));
        assert_eq!(SetDataRequest::decode(&set_data).err(), expect);
        let mut create = with_length(1, b"/");
        create.extend_from_slice(&with_length(0, &[]));
        create.extend_from_slice(&with_length(length, &[0; 4]));
        assert_eq!(CreateRequest::decode(&create).err(), expect);
        assert!(
            matches!(Request::decode(op::CREATE, &create), Err(RequestError::Malformed(JuteError::InvalidLength(l))) if l == length)
        );
        assert_eq!(TxnBody::decode(op::DELETE, &with_length(length, &[])).err(), expect);
        assert_eq!(
            QuorumPacket::decode(&[&[0u8; 12][..], &with_length(length, &[0; 4])].concat()).err(),
            expect
        );
    }
    // -1 is null: empty for plain strings, buffers and vectors, None where the null is kept.
    let null = with_length(-1, &[]);
    assert_eq!(decode_field::<String>(&null), Ok(String::new()));
    assert_eq!(decode_field::<Option<String>>(&null), Ok(None));
    assert_eq!(decode_field::<Bytes>(&null), Ok(Bytes::new()));
    assert_eq!(decode_field::<Option<Bytes>>(&null), Ok(None));
    assert_eq!(decode_field::<Vec<Acl>>(&null), Ok(vec![]));
}

#[test]
fn lengths_beyond_the_input_are_truncation_errors() {
    for length in [1, 5, 1000, i32::MAX] {
        let bytes = with_length(length, &[]);
        assert!(matches!(decode_field::<String>(&bytes), Err(JuteError::Truncated { .. })));
        assert!(matches!(decode_field::<Option<Bytes>>(&bytes), Err(JuteError::Truncated { .. })));
        assert!(matches!(decode_field::<Vec<String>>(&bytes), Err(JuteError::Truncated { .. })));
    }
    // One byte short.
    assert!(matches!(
        decode_field::<String>(&with_length(4, b"abc")),
        Err(JuteError::Truncated { needed: 4, remaining: 3 })
    ));
    assert_eq!(decode_field::<String>(&with_length(3, &[0xff, 0xfe, 0xfd])), Err(JuteError::InvalidUtf8));
}

/// The borrowed ustring reads what `String::read` reads and fails where it fails.
#[test]
fn borrowed_strings_read_like_owned_ones() {
    let read_str = |bytes: &[u8]| Reader::new(bytes).read_str().map(str::to_owned);
    for input in
        [with_length(-1, b"x"), with_length(0, b""), with_length(3, b"abcd"), with_length(2, "é".as_bytes())]
    {
        assert_eq!(read_str(&input), String::read(&mut Reader::new(&input)));
    }
    assert_eq!(read_str(&with_length(-1, b"")), Ok(String::new()));
    assert_eq!(read_str(&with_length(3, b"abc")), Ok("abc".to_owned()));
    assert_eq!(read_str(&with_length(3, &[0xff, 0xfe, 0xfd])), Err(JuteError::InvalidUtf8));
    assert!(matches!(read_str(&with_length(4, b"abc")), Err(JuteError::Truncated { .. })));
    assert!(matches!(read_str(&with_length(-2, b"abc")), Err(JuteError::InvalidLength(-2))));
}

// ---- huge vector counts: rejected without allocating ----

/// Decodes `prefix ‖ count ‖ filler` as a T and returns the error and the largest allocation.
fn hostile<T: Record + Debug>(prefix: &[u8], count: i32, filler: &[u8]) -> (JuteError, usize, usize) {
    let mut input = prefix.to_vec();
    input.extend_from_slice(&count.to_be_bytes());
    input.extend_from_slice(filler);
    let (result, largest) = largest_allocation(|| T::decode(&input));
    match result {
        Ok(value) => panic!("decoded {value:?} from a hostile count {count}"),
        Err(e) => (e, largest, input.len()),
    }
}

/// Decodes a record with the given count and filler: (error, largest allocation, input length).
type HostileDecode = dyn Fn(i32, &[u8]) -> (JuteError, usize, usize);

#[test]
fn huge_vector_counts_are_rejected_without_allocating() {
    let garbage = vec![0x80u8; 64 * 1024]; // every length read from it is negative
    let zero = [0u8; 16];
    let path = with_length(1, b"/");
    // (what, prefix before the count, smallest element encoding)
    let cases: Vec<(&str, Box<HostileDecode>, usize)> = vec![
        ("GetChildrenResponse.children", Box::new(|c, f| hostile::<GetChildrenResponse>(&[], c, f)), 4),
        ("GetChildren2Response.children", Box::new(|c, f| hostile::<GetChildren2Response>(&[], c, f)), 4),
        ("GetAclResponse.acl", Box::new(|c, f| hostile::<GetAclResponse>(&[], c, f)), 12),
        (
            "CreateRequest.acl",
            Box::new(move |c, f| {
                hostile::<CreateRequest>(&[&path[..], &with_length(-1, &[])].concat(), c, f)
            }),
            12,
        ),
        ("SetAclTxn.acl", Box::new(|c, f| hostile::<SetAclTxn>(&with_length(0, &[]), c, f)), 12),
        ("SetWatches.data_watches", Box::new(move |c, f| hostile::<SetWatches>(&zero[..8], c, f)), 4),
        ("SetWatches2.data_watches", Box::new(move |c, f| hostile::<SetWatches2>(&zero[..8], c, f)), 4),
        (
            "QuorumPacket.authinfo",
            Box::new(move |c, f| {
                hostile::<QuorumPacket>(&[&zero[..12], &with_length(0, &[])].concat(), c, f)
            }),
            8,
        ),
        ("MultiTxn.txns", Box::new(|c, f| hostile::<MultiTxn>(&[], c, f)), 8),
        ("CloseSessionTxn.paths2_delete", Box::new(|c, f| hostile::<CloseSessionTxn>(&[], c, f)), 4),
        ("WhoAmIResponse.client_info", Box::new(|c, f| hostile::<WhoAmIResponse>(&[], c, f)), 8),
        ("GetEphemeralsResponse.ephemerals", Box::new(|c, f| hostile::<GetEphemeralsResponse>(&[], c, f)), 4),
        (
            "MultiResponse getChildren result",
            Box::new(move |c, f| {
                hostile::<MultiResponse>(
                    &MultiHeader { r#type: op::GET_CHILDREN, done: false, err: 0 }.encode(),
                    c,
                    f,
                )
            }),
            4,
        ),
    ];
    for (what, decode, min_size) in &cases {
        for count in [i32::MAX, 0x4000_0000, 0x0100_0000, 65_537] {
            let (error, largest, input) = decode(count, &[]);
            assert!(matches!(error, JuteError::Truncated { .. }), "{what} {count}: {error}");
            assert!(
                largest <= input,
                "{what}: count {count} made a {largest}-byte allocation from {input} bytes"
            );
        }
        // The largest count the remaining bytes could hold: accepted up front, then the first
        // element fails; the preallocation must stay within the input.
        let count = i32::try_from(garbage.len() / min_size).unwrap();
        let (error, largest, input) = decode(count, &garbage);
        assert!(!matches!(error, JuteError::TrailingBytes(_)), "{what}: {error}");
        assert!(
            largest <= input,
            "{what}: count {count} made a {largest}-byte allocation from {input} bytes"
        );
    }
    // Strings and buffers.
    for length in [i32::MAX, 1 << 24] {
        let (error, largest, input) = hostile::<SyncRequest>(&[], length, &garbage[..16]);
        assert!(matches!(error, JuteError::Truncated { .. }));
        assert!(largest <= input);
        let (error, largest, input) = hostile::<GetDataResponse>(&[], length, &garbage[..16]);
        assert!(matches!(error, JuteError::Truncated { .. }));
        assert!(largest <= input);
    }
}

#[test]
fn typed_request_with_huge_counts() {
    // setWatches with a count of 2^31-1 paths and 4 bytes to back them.
    let mut body = 0i64.to_be_bytes().to_vec();
    body.extend_from_slice(&i32::MAX.to_be_bytes());
    body.extend_from_slice(&[0, 0, 0, 0]);
    let (result, largest) = largest_allocation(|| Request::decode(op::SET_WATCHES, &body));
    assert!(matches!(result, Err(RequestError::Malformed(JuteError::Truncated { .. }))));
    assert!(largest <= body.len());
    // A multi claiming many ops but ending early.
    let mut body = MultiHeader { r#type: op::CREATE, done: false, err: -1 }.encode();
    body.extend_from_slice(&with_length(i32::MAX, &[]));
    assert!(Request::decode(op::MULTI, &body).is_err());
}

// ---- nested multi txns ----

fn nested_multi(depth: usize) -> Vec<u8> {
    let mut body = MultiTxn::default().encode();
    for _ in 0..depth {
        body = MultiTxn { txns: vec![Txn { r#type: op::MULTI, data: Bytes::from(body) }] }.encode();
    }
    body
}

#[test]
fn nested_multi_txns_are_refused_without_recursing() {
    // ~12 bytes per level: 80,000 levels fit in one jute.maxbuffer and used to overflow the stack.
    for depth in [1, 2, 80_000] {
        let body = nested_multi(depth);
        assert!(body.len() < jute::consts::DEFAULT_MAX_BUFFER);
        let result = TxnBody::decode(op::MULTI, &body);
        assert_eq!(
            result,
            Err(JuteError::InvalidValue { what: "txn type inside a multi", value: op::MULTI.into() })
        );
    }
    // MultiTxn itself (Java's view: a list of typed buffers) still decodes one level.
    assert_eq!(MultiTxn::decode(&nested_multi(1)).unwrap().txns.len(), 1);
    assert_eq!(TxnBody::decode(op::MULTI, &nested_multi(0)).unwrap(), TxnBody::Multi(vec![]));
}

/// A sub-txn must fill its buffer exactly: one cut short or followed by stray bytes inside its
/// buffer fails the whole multi, as a lone txn with the same bytes would.
#[test]
fn a_multi_sub_txn_that_does_not_fill_its_buffer_is_refused() {
    let check = CheckVersionTxn { path: "/a".into(), version: 1 }.encode();
    let multi_of =
        |data: Vec<u8>| MultiTxn { txns: vec![Txn { r#type: op::CHECK, data: Bytes::from(data) }] }.encode();
    let whole = multi_of(check.clone());
    assert!(matches!(TxnBody::decode(op::MULTI, &whole), Ok(TxnBody::Multi(subs)) if subs.len() == 1));
    let short = multi_of(check[..check.len() - 1].to_vec());
    assert!(matches!(TxnBody::decode(op::MULTI, &short), Err(JuteError::Truncated { .. })));
    let mut long = check.clone();
    long.extend_from_slice(&[0, 0, 0]);
    assert_eq!(TxnBody::decode(op::MULTI, &multi_of(long)), Err(JuteError::TrailingBytes(3)));
    // A buffer length past the end of the multi.
    let mut cut = whole.clone();
    cut.truncate(cut.len() - 2);
    assert!(matches!(TxnBody::decode(op::MULTI, &cut), Err(JuteError::Truncated { .. })));
}

// ---- invalid values ----

#[test]
fn invalid_opcodes_and_multi_mixtures() {
    for opcode in [op::NOTIFICATION, op::ERROR, op::CREATE_SESSION, 10, 23, 99, 108, i32::MIN, i32::MAX] {
        assert_eq!(Request::decode(opcode, &[]), Err(RequestError::UnknownOpcode(opcode)));
    }
    let get_data =
        Request::MultiRead(vec![MultiOp::GetData(GetDataRequest { path: "/a".into(), watch: false })]);
    let mut body = Vec::new();
    get_data.write_body(&mut body);
    assert_eq!(Request::decode(op::MULTI, &body), Err(RequestError::InvalidMultiOp { opcode: op::GET_DATA }));
    let delete = Request::Multi(vec![MultiOp::Delete(DeleteRequest { path: "/a".into(), version: -1 })]);
    let mut body = Vec::new();
    delete.write_body(&mut body);
    assert_eq!(
        Request::decode(op::MULTI_READ, &body),
        Err(RequestError::InvalidMultiOp { opcode: op::DELETE })
    );
    // Ops a multi may never carry.
    for opcode in [op::SYNC, op::MULTI, op::SET_ACL, op::PING, 0, -1] {
        let body = MultiHeader { r#type: opcode, done: false, err: -1 }.encode();
        assert_eq!(Request::decode(op::MULTI, &body), Err(RequestError::InvalidMultiOp { opcode }));
    }
    // A multi without its terminating header.
    assert!(Request::decode(op::MULTI, &[]).is_err());
    // Unknown multi result types and txn types.
    let body = MultiHeader { r#type: op::SYNC, done: false, err: 0 }.encode();
    assert!(matches!(MultiResponse::decode(&body), Err(JuteError::InvalidValue { .. })));
    for txn_type in [op::GET_DATA, op::PING, op::SYNC, 0, 1000] {
        assert!(matches!(TxnBody::decode(txn_type, &[0; 16]), Err(JuteError::InvalidValue { .. })));
    }
}

// ---- frame prefixes ----

#[test]
fn frame_length_rejects_negative_and_oversized() {
    let max = jute::consts::DEFAULT_MAX_BUFFER;
    assert_eq!(frame_length(0i32.to_be_bytes(), max), Ok(0));
    assert_eq!(frame_length(45i32.to_be_bytes(), max), Ok(45));
    assert_eq!(frame_length((max as i32).to_be_bytes(), max), Ok(max));
    assert_eq!(
        frame_length((max as i32 + 1).to_be_bytes(), max),
        Err(FrameError::TooLarge { length: max + 1, max })
    );
    assert_eq!(
        frame_length(i32::MAX.to_be_bytes(), max),
        Err(FrameError::TooLarge { length: i32::MAX as usize, max })
    );
    for negative in [-1, -2, i32::MIN] {
        assert_eq!(frame_length(negative.to_be_bytes(), max), Err(FrameError::Negative(negative)));
    }
    // Four-letter words arrive where a length would: "ruok" is a huge length, not a frame.
    assert!(matches!(frame_length(*b"ruok", max), Err(FrameError::TooLarge { .. })));

    assert_eq!(split_frame(&[], max), Ok(None));
    assert_eq!(split_frame(&[0, 0, 0], max), Ok(None));
    assert_eq!(split_frame(&[0, 0, 0, 2, 9], max), Ok(None));
    assert_eq!(split_frame(&[0, 0, 0, 2, 9, 9, 7], max), Ok(Some((4..6, 6))));
    assert_eq!(split_frame(&[0, 0, 0, 0], max), Ok(Some((4..4, 4))));
    assert_eq!(split_frame(&[0xff, 0xff, 0xff, 0xfe], max), Err(FrameError::Negative(-2)));
    assert_eq!(split_frame(&[0, 0, 0, 9], 8), Err(FrameError::TooLarge { length: 9, max: 8 }));
}

proptest! {
    #[test]
    fn frame_length_never_panics(prefix in any::<[u8; 4]>(), max in 0usize..0x200_0000) {
        let length = i32::from_be_bytes(prefix);
        match frame_length(prefix, max) {
            Ok(n) => prop_assert!(length >= 0 && n == length as usize && n <= max),
            Err(FrameError::Negative(n)) => prop_assert!(n < 0 && n == length),
            Err(FrameError::TooLarge { length: n, max: m }) => prop_assert!(n > m && m == max),
        }
    }
}

// ---- arbitrary and mutated bytes never panic ----

fn any_opcode() -> impl Strategy<Value = i32> {
    prop_oneof![3 => proptest::sample::select(ALL_REQUEST_OPCODES.to_vec()), 1 => any::<i32>()]
}

/// A valid encoding with some bytes overwritten, cut or extended: close enough to valid to reach
/// deep into the decoders.
fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8)], cut: Option<usize>) -> Vec<u8> {
    if !bytes.is_empty() {
        for &(at, byte) in edits {
            let at = at % bytes.len();
            bytes[at] = byte;
        }
    }
    if let Some(cut) = cut {
        bytes.truncate(cut % (bytes.len() + 1));
    }
    bytes
}

fn edits() -> impl Strategy<Value = (Vec<(usize, u8)>, Option<usize>)> {
    (
        vec((any::<usize>(), prop_oneof![Just(0xffu8), Just(0x80), Just(0), Just(1), any::<u8>()]), 0..4),
        proptest::option::of(any::<usize>()),
    )
}

macro_rules! garbage_tests {
    ($($name:ident : $t:ty = $strategy:expr;)*) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]
            $(
                #[test]
                fn $name(value in $strategy, (edits, cut) in edits(), noise in vec(any::<u8>(), 0..64)) {
                    let _ = <$t as Record>::decode(&noise);
                    let _ = <$t as Record>::decode(&mutate(value.encode(), &edits, cut));
                }
            )*
        }
    };
}

mod garbage {
    use super::*;
    for_each_record!(garbage_tests);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn request_decode_on_arbitrary_bytes_never_panics(opcode in any_opcode(), body in vec(any::<u8>(), 0..256)) {
        let _ = Request::decode(opcode, &body);
    }

    #[test]
    fn request_decode_on_mutated_requests_never_panics(
        request in arb_request(),
        opcode in prop_oneof![Just(None), any_opcode().prop_map(Some)],
        (edits, cut) in edits(),
    ) {
        let mut body = Vec::new();
        request.write_body(&mut body);
        let body = mutate(body, &edits, cut);
        let _ = Request::decode(opcode.unwrap_or(request.opcode()), &body);
        // A whole frame goes through the same path.
        let mut reader = Reader::new(&body);
        if let Ok(header) = RequestHeader::read(&mut reader) {
            let _ = Request::decode(header.r#type, reader.rest());
        }
    }

    #[test]
    fn txn_and_reply_decoders_never_panic(
        txn_type in prop_oneof![proptest::sample::select(vec![op::CREATE, op::CREATE2, op::CREATE_CONTAINER, op::CREATE_TTL, op::DELETE, op::DELETE_CONTAINER, op::SET_DATA, op::SET_ACL, op::CHECK, op::CREATE_SESSION, op::CLOSE_SESSION, op::ERROR, op::RECONFIG, op::MULTI]), any::<i32>()],
        body in arb_txn_body(),
        (edits, cut) in edits(),
        noise in vec(any::<u8>(), 0..128),
    ) {
        let _ = TxnBody::decode(txn_type, &noise);
        let mutated = mutate(body.encode(), &edits, cut);
        let _ = TxnBody::decode(txn_type, &mutated);
        let _ = TxnBody::decode(body.txn_type(), &mutated);
        let _ = MultiResponse::decode(&noise);
        let _ = ConnectRequest::decode(&noise);
        let _ = ConnectResponse::decode(&noise);
    }

    #[test]
    fn multi_response_mutations_never_panic(response in arb_multi_response(), (edits, cut) in edits()) {
        let _ = MultiResponse::decode(&mutate(response.encode(), &edits, cut));
    }
}
