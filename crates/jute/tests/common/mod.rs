//! Proptest strategies for every jute record, shared by the integration tests.
#![allow(dead_code)]

use jute::consts::op;
use jute::persistence::*;
use jute::proto::*;
use jute::quorum::*;
use jute::records::*;
use jute::request::*;
use jute::txn::*;
use jute::Bytes;
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;

/// Any string, multi-byte characters included (`.` is any char but '\n', `(?s)` adds it).
pub fn s() -> impl Strategy<Value = String> {
    proptest::string::string_regex("(?s).{0,12}").unwrap()
}
pub fn os() -> impl Strategy<Value = Option<String>> {
    of(s())
}
pub fn vs() -> impl Strategy<Value = Vec<String>> {
    vec(s(), 0..4)
}
pub fn b() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..24).prop_map(Bytes::from)
}
/// Null (None), empty and non-empty buffers.
pub fn ob() -> impl Strategy<Value = Option<Bytes>> {
    of(b())
}
pub fn i() -> impl Strategy<Value = i32> {
    any::<i32>()
}
pub fn l() -> impl Strategy<Value = i64> {
    any::<i64>()
}
pub fn z() -> impl Strategy<Value = bool> {
    any::<bool>()
}

/// `arb!(arb_x -> X { field: strategy, ... })` defines `fn arb_x() -> impl Strategy<Value = X>`.
macro_rules! arb {
    ($($f:ident -> $t:ident { $($field:ident : $strat:expr),* $(,)? })*) => {$(
        pub fn $f() -> impl Strategy<Value = $t> {
            ($($strat,)*).prop_map(|($($field,)*)| $t { $($field),* })
        }
    )*};
}

arb! {
    // org.apache.zookeeper.data
    arb_id -> Id { scheme: s(), id: s() }
    arb_acl -> Acl { perms: i(), id: arb_id() }
    arb_stat -> Stat {
        czxid: l(), mzxid: l(), ctime: l(), mtime: l(), version: i(), cversion: i(), aversion: i(),
        ephemeral_owner: l(), data_length: i(), num_children: i(), pzxid: l(),
    }
    arb_stat_persisted -> StatPersisted {
        czxid: l(), mzxid: l(), ctime: l(), mtime: l(), version: i(), cversion: i(), aversion: i(),
        ephemeral_owner: l(), pzxid: l(),
    }
    arb_client_info -> ClientInfo { auth_scheme: s(), user: s() }

    // org.apache.zookeeper.proto
    arb_connect_request -> ConnectRequest {
        protocol_version: i(), last_zxid_seen: l(), time_out: i(), session_id: l(), passwd: b(), read_only: of(z()),
    }
    arb_connect_response -> ConnectResponse {
        protocol_version: i(), time_out: i(), session_id: l(), passwd: b(), read_only: of(z()),
    }
    arb_set_watches -> SetWatches { relative_zxid: l(), data_watches: vs(), exist_watches: vs(), child_watches: vs() }
    arb_set_watches2 -> SetWatches2 {
        relative_zxid: l(), data_watches: vs(), exist_watches: vs(), child_watches: vs(),
        persistent_watches: vs(), persistent_recursive_watches: vs(),
    }
    arb_request_header -> RequestHeader { xid: i(), r#type: i() }
    arb_multi_header -> MultiHeader { r#type: i(), done: z(), err: i() }
    arb_auth_packet -> AuthPacket { r#type: i(), scheme: s(), auth: b() }
    arb_reply_header -> ReplyHeader { xid: i(), zxid: l(), err: i() }
    arb_get_data_request -> GetDataRequest { path: s(), watch: z() }
    arb_set_data_request -> SetDataRequest { path: s(), data: ob(), version: i() }
    arb_reconfig_request -> ReconfigRequest {
        joining_servers: os(), leaving_servers: os(), new_members: os(), cur_config_id: l(),
    }
    arb_set_data_response -> SetDataResponse { stat: arb_stat() }
    arb_get_sasl_request -> GetSaslRequest { token: ob() }
    arb_set_sasl_request -> SetSaslRequest { token: ob() }
    arb_set_sasl_response -> SetSaslResponse { token: ob() }
    arb_create_request -> CreateRequest { path: s(), data: ob(), acl: vec(arb_acl(), 0..3), flags: i() }
    arb_create_ttl_request -> CreateTtlRequest {
        path: s(), data: ob(), acl: vec(arb_acl(), 0..3), flags: i(), ttl: l(),
    }
    arb_delete_request -> DeleteRequest { path: s(), version: i() }
    arb_get_children_request -> GetChildrenRequest { path: s(), watch: z() }
    arb_get_all_children_number_request -> GetAllChildrenNumberRequest { path: s() }
    arb_get_stat_persisted_request -> GetStatPersistedRequest { path: s() }
    arb_get_children2_request -> GetChildren2Request { path: s(), watch: z() }
    arb_check_version_request -> CheckVersionRequest { path: s(), version: i() }
    arb_get_max_children_request -> GetMaxChildrenRequest { path: s() }
    arb_get_max_children_response -> GetMaxChildrenResponse { max: i() }
    arb_set_max_children_request -> SetMaxChildrenRequest { path: s(), max: i() }
    arb_sync_request -> SyncRequest { path: s() }
    arb_sync_response -> SyncResponse { path: s() }
    arb_get_acl_request -> GetAclRequest { path: s() }
    arb_set_acl_request -> SetAclRequest { path: s(), acl: vec(arb_acl(), 0..3), version: i() }
    arb_set_acl_response -> SetAclResponse { stat: arb_stat() }
    arb_add_watch_request -> AddWatchRequest { path: s(), mode: i() }
    arb_watcher_event -> WatcherEvent { r#type: i(), state: i(), path: s() }
    arb_error_response -> ErrorResponse { err: i() }
    arb_create_response -> CreateResponse { path: s() }
    arb_create2_response -> Create2Response { path: s(), stat: arb_stat() }
    arb_exists_request -> ExistsRequest { path: s(), watch: z() }
    arb_exists_response -> ExistsResponse { stat: arb_stat() }
    arb_get_data_response -> GetDataResponse { data: ob(), stat: arb_stat() }
    arb_get_children_response -> GetChildrenResponse { children: vs() }
    arb_get_all_children_number_response -> GetAllChildrenNumberResponse { total_number: i() }
    arb_get_stat_persisted_response -> GetStatPersistedResponse { stat_persisted: arb_stat_persisted() }
    arb_get_children2_response -> GetChildren2Response { children: vs(), stat: arb_stat() }
    arb_get_acl_response -> GetAclResponse { acl: vec(arb_acl(), 0..3), stat: arb_stat() }
    arb_check_watches_request -> CheckWatchesRequest { path: s(), r#type: i() }
    arb_remove_watches_request -> RemoveWatchesRequest { path: s(), r#type: i() }
    arb_get_ephemerals_request -> GetEphemeralsRequest { prefix_path: s() }
    arb_get_ephemerals_response -> GetEphemeralsResponse { ephemerals: vs() }
    arb_who_am_i_response -> WhoAmIResponse { client_info: vec(arb_client_info(), 0..3) }
    arb_delete_container_request -> DeleteContainerRequest { path: s() }

    // org.apache.zookeeper.txn
    arb_txn_digest -> TxnDigest { version: i(), tree_digest: l() }
    arb_txn_header -> TxnHeader { client_id: l(), cxid: i(), zxid: l(), time: l(), r#type: i() }
    arb_create_txn_v0 -> CreateTxnV0 { path: s(), data: ob(), acl: vec(arb_acl(), 0..3), ephemeral: z() }
    arb_create_txn -> CreateTxn {
        path: s(), data: ob(), acl: vec(arb_acl(), 0..3), ephemeral: z(), parent_c_version: i(),
    }
    arb_create_ttl_txn -> CreateTtlTxn {
        path: s(), data: ob(), acl: vec(arb_acl(), 0..3), parent_c_version: i(), ttl: l(),
    }
    arb_create_container_txn -> CreateContainerTxn {
        path: s(), data: ob(), acl: vec(arb_acl(), 0..3), parent_c_version: i(),
    }
    arb_delete_txn -> DeleteTxn { path: s() }
    arb_set_data_txn -> SetDataTxn { path: s(), data: ob(), version: i() }
    arb_check_version_txn -> CheckVersionTxn { path: s(), version: i() }
    arb_set_acl_txn -> SetAclTxn { path: s(), acl: vec(arb_acl(), 0..3), version: i() }
    arb_set_max_children_txn -> SetMaxChildrenTxn { path: s(), max: i() }
    arb_create_session_txn -> CreateSessionTxn { time_out: i() }
    arb_close_session_txn -> CloseSessionTxn { paths2_delete: vs() }
    arb_error_txn -> ErrorTxn { err: i() }
    arb_txn -> Txn { r#type: i(), data: b() }
    arb_multi_txn -> MultiTxn { txns: vec(arb_txn(), 0..4) }

    // org.apache.zookeeper.server.quorum
    arb_learner_info -> LearnerInfo { serverid: l(), protocol_version: i(), config_version: l() }
    arb_quorum_packet -> QuorumPacket { r#type: i(), zxid: l(), data: ob(), authinfo: vec(arb_id(), 0..3) }
    arb_quorum_auth_packet -> QuorumAuthPacket { magic: l(), status: i(), token: ob() }

    // org.apache.zookeeper.server.persistence
    arb_file_header -> FileHeader { magic: i(), version: i(), dbid: l() }
}

/// Calls `$m! { test_name: Type = strategy; ... }` with every type implementing `Record`.
/// `tests/roundtrip.rs` checks that every `pub struct` of the crate appears here.
#[macro_export]
macro_rules! for_each_record {
    ($m:ident) => {
        $m! {
            id: Id = arb_id();
            acl: Acl = arb_acl();
            stat: Stat = arb_stat();
            stat_persisted: StatPersisted = arb_stat_persisted();
            client_info: ClientInfo = arb_client_info();
            set_watches: SetWatches = arb_set_watches();
            set_watches2: SetWatches2 = arb_set_watches2();
            request_header: RequestHeader = arb_request_header();
            multi_header: MultiHeader = arb_multi_header();
            auth_packet: AuthPacket = arb_auth_packet();
            reply_header: ReplyHeader = arb_reply_header();
            get_data_request: GetDataRequest = arb_get_data_request();
            set_data_request: SetDataRequest = arb_set_data_request();
            reconfig_request: ReconfigRequest = arb_reconfig_request();
            set_data_response: SetDataResponse = arb_set_data_response();
            get_sasl_request: GetSaslRequest = arb_get_sasl_request();
            set_sasl_request: SetSaslRequest = arb_set_sasl_request();
            set_sasl_response: SetSaslResponse = arb_set_sasl_response();
            create_request: CreateRequest = arb_create_request();
            create_ttl_request: CreateTtlRequest = arb_create_ttl_request();
            delete_request: DeleteRequest = arb_delete_request();
            get_children_request: GetChildrenRequest = arb_get_children_request();
            get_all_children_number_request: GetAllChildrenNumberRequest = arb_get_all_children_number_request();
            get_stat_persisted_request: GetStatPersistedRequest = arb_get_stat_persisted_request();
            get_children2_request: GetChildren2Request = arb_get_children2_request();
            check_version_request: CheckVersionRequest = arb_check_version_request();
            get_max_children_request: GetMaxChildrenRequest = arb_get_max_children_request();
            get_max_children_response: GetMaxChildrenResponse = arb_get_max_children_response();
            set_max_children_request: SetMaxChildrenRequest = arb_set_max_children_request();
            sync_request: SyncRequest = arb_sync_request();
            sync_response: SyncResponse = arb_sync_response();
            get_acl_request: GetAclRequest = arb_get_acl_request();
            set_acl_request: SetAclRequest = arb_set_acl_request();
            set_acl_response: SetAclResponse = arb_set_acl_response();
            add_watch_request: AddWatchRequest = arb_add_watch_request();
            watcher_event: WatcherEvent = arb_watcher_event();
            error_response: ErrorResponse = arb_error_response();
            create_response: CreateResponse = arb_create_response();
            create2_response: Create2Response = arb_create2_response();
            exists_request: ExistsRequest = arb_exists_request();
            exists_response: ExistsResponse = arb_exists_response();
            get_data_response: GetDataResponse = arb_get_data_response();
            get_children_response: GetChildrenResponse = arb_get_children_response();
            get_all_children_number_response: GetAllChildrenNumberResponse = arb_get_all_children_number_response();
            get_stat_persisted_response: GetStatPersistedResponse = arb_get_stat_persisted_response();
            get_children2_response: GetChildren2Response = arb_get_children2_response();
            get_acl_response: GetAclResponse = arb_get_acl_response();
            check_watches_request: CheckWatchesRequest = arb_check_watches_request();
            remove_watches_request: RemoveWatchesRequest = arb_remove_watches_request();
            get_ephemerals_request: GetEphemeralsRequest = arb_get_ephemerals_request();
            get_ephemerals_response: GetEphemeralsResponse = arb_get_ephemerals_response();
            who_am_i_response: WhoAmIResponse = arb_who_am_i_response();
            delete_container_request: DeleteContainerRequest = arb_delete_container_request();
            txn_digest: TxnDigest = arb_txn_digest();
            txn_header: TxnHeader = arb_txn_header();
            create_txn_v0: CreateTxnV0 = arb_create_txn_v0();
            create_txn: CreateTxn = arb_create_txn();
            create_ttl_txn: CreateTtlTxn = arb_create_ttl_txn();
            create_container_txn: CreateContainerTxn = arb_create_container_txn();
            delete_txn: DeleteTxn = arb_delete_txn();
            set_data_txn: SetDataTxn = arb_set_data_txn();
            check_version_txn: CheckVersionTxn = arb_check_version_txn();
            set_acl_txn: SetAclTxn = arb_set_acl_txn();
            set_max_children_txn: SetMaxChildrenTxn = arb_set_max_children_txn();
            create_session_txn: CreateSessionTxn = arb_create_session_txn();
            close_session_txn: CloseSessionTxn = arb_close_session_txn();
            error_txn: ErrorTxn = arb_error_txn();
            txn: Txn = arb_txn();
            multi_txn: MultiTxn = arb_multi_txn();
            learner_info: LearnerInfo = arb_learner_info();
            quorum_packet: QuorumPacket = arb_quorum_packet();
            quorum_auth_packet: QuorumAuthPacket = arb_quorum_auth_packet();
            file_header: FileHeader = arb_file_header();
            multi_response: MultiResponse = arb_multi_response();
        }
    };
}

// ---- request.rs: typed requests, multi ops, multi results ----

pub fn arb_write_op() -> impl Strategy<Value = MultiOp> {
    prop_oneof![
        arb_create_request().prop_map(MultiOp::Create),
        arb_create_request().prop_map(MultiOp::Create2),
        arb_create_request().prop_map(MultiOp::CreateContainer),
        arb_create_ttl_request().prop_map(MultiOp::CreateTtl),
        arb_delete_request().prop_map(MultiOp::Delete),
        arb_set_data_request().prop_map(MultiOp::SetData),
        arb_check_version_request().prop_map(MultiOp::Check),
    ]
}

pub fn arb_read_op() -> impl Strategy<Value = MultiOp> {
    prop_oneof![
        arb_get_children_request().prop_map(MultiOp::GetChildren),
        arb_get_data_request().prop_map(MultiOp::GetData),
    ]
}

/// One strategy per opcode the decoder knows; `ALL_REQUEST_OPCODES` lists the same opcodes.
pub fn arb_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        arb_create_request().prop_map(Request::Create),
        arb_create_request().prop_map(Request::Create2),
        arb_create_request().prop_map(Request::CreateContainer),
        arb_create_ttl_request().prop_map(Request::CreateTtl),
        arb_delete_request().prop_map(Request::Delete),
        arb_delete_container_request().prop_map(Request::DeleteContainer),
        arb_exists_request().prop_map(Request::Exists),
        arb_get_data_request().prop_map(Request::GetData),
        arb_set_data_request().prop_map(Request::SetData),
        arb_get_acl_request().prop_map(Request::GetAcl),
        arb_set_acl_request().prop_map(Request::SetAcl),
        arb_get_children_request().prop_map(Request::GetChildren),
        arb_get_children2_request().prop_map(Request::GetChildren2),
        arb_sync_request().prop_map(Request::Sync),
        Just(Request::Ping),
        arb_check_version_request().prop_map(Request::Check),
        vec(arb_write_op(), 0..5).prop_map(Request::Multi),
        vec(arb_read_op(), 0..5).prop_map(Request::MultiRead),
        arb_reconfig_request().prop_map(Request::Reconfig),
        arb_check_watches_request().prop_map(Request::CheckWatches),
        arb_remove_watches_request().prop_map(Request::RemoveWatches),
        arb_auth_packet().prop_map(Request::Auth),
        arb_set_watches().prop_map(Request::SetWatches),
        arb_set_watches2().prop_map(Request::SetWatches2),
        arb_get_sasl_request().prop_map(Request::Sasl),
        arb_get_ephemerals_request().prop_map(Request::GetEphemerals),
        arb_get_all_children_number_request().prop_map(Request::GetAllChildrenNumber),
        arb_add_watch_request().prop_map(Request::AddWatch),
        Just(Request::WhoAmI),
        Just(Request::CloseSession),
    ]
}

/// Every opcode `Request::decode` accepts (30 of them).
pub const ALL_REQUEST_OPCODES: [i32; 30] = [
    op::CREATE,
    op::CREATE2,
    op::CREATE_CONTAINER,
    op::CREATE_TTL,
    op::DELETE,
    op::DELETE_CONTAINER,
    op::EXISTS,
    op::GET_DATA,
    op::SET_DATA,
    op::GET_ACL,
    op::SET_ACL,
    op::GET_CHILDREN,
    op::GET_CHILDREN2,
    op::SYNC,
    op::PING,
    op::CHECK,
    op::MULTI,
    op::MULTI_READ,
    op::RECONFIG,
    op::CHECK_WATCHES,
    op::REMOVE_WATCHES,
    op::AUTH,
    op::SET_WATCHES,
    op::SET_WATCHES2,
    op::SASL,
    op::GET_EPHEMERALS,
    op::GET_ALL_CHILDREN_NUMBER,
    op::ADD_WATCH,
    op::WHO_AM_I,
    op::CLOSE_SESSION,
];

pub fn arb_op_result() -> impl Strategy<Value = OpResult> {
    prop_oneof![
        s().prop_map(|path| OpResult::Create { path }),
        (s(), arb_stat()).prop_map(|(path, stat)| OpResult::Create2 { path, stat }),
        Just(OpResult::Delete),
        arb_stat().prop_map(|stat| OpResult::SetData { stat }),
        Just(OpResult::Check),
        vs().prop_map(|children| OpResult::GetChildren { children }),
        (ob(), arb_stat()).prop_map(|(data, stat)| OpResult::GetData { data, stat }),
        i().prop_map(|err| OpResult::Error { err }),
    ]
}

pub fn arb_multi_response() -> impl Strategy<Value = MultiResponse> {
    vec(arb_op_result(), 0..6).prop_map(|results| MultiResponse { results })
}

// ---- txn.rs: TxnBody ----

/// Every single-operation txn body.
pub fn arb_txn_body_leaf() -> impl Strategy<Value = TxnBody> {
    prop_oneof![
        arb_create_txn().prop_map(TxnBody::Create),
        arb_create_txn().prop_map(TxnBody::Create2),
        arb_create_container_txn().prop_map(TxnBody::CreateContainer),
        arb_create_ttl_txn().prop_map(TxnBody::CreateTtl),
        arb_delete_txn().prop_map(TxnBody::Delete),
        arb_delete_txn().prop_map(TxnBody::DeleteContainer),
        arb_set_data_txn().prop_map(TxnBody::SetData),
        arb_set_acl_txn().prop_map(TxnBody::SetAcl),
        arb_check_version_txn().prop_map(TxnBody::Check),
        arb_create_session_txn().prop_map(TxnBody::CreateSession),
        of(arb_close_session_txn()).prop_map(TxnBody::CloseSession),
        arb_error_txn().prop_map(TxnBody::Error),
        arb_set_data_txn().prop_map(TxnBody::Reconfig),
    ]
}

/// Every txn body, a multi holding any of the single-operation bodies included.
pub fn arb_txn_body() -> impl Strategy<Value = TxnBody> {
    prop_oneof![
        4 => arb_txn_body_leaf(),
        1 => vec(arb_txn_body_leaf(), 0..5).prop_map(TxnBody::Multi),
    ]
}
