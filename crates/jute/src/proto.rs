//! Records of `org.apache.zookeeper.proto`: the client protocol.

use crate::archive::{Field, JuteError, Reader, Record};
use crate::jute_record;
use crate::records::{Acl, ClientInfo, Stat, StatPersisted};
use bytes::{BufMut, Bytes};

/// First frame of a connection. The trailing `read_only` byte is optional (pre-3.4 clients omit
/// it); `read_only` is `None` when it was absent, and the response must then omit it too.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectRequest {
    pub protocol_version: i32,
    pub last_zxid_seen: i64,
    pub time_out: i32,
    pub session_id: i64,
    pub passwd: Bytes,
    pub read_only: Option<bool>,
}

impl Field for ConnectRequest {
    fn write(&self, out: &mut Vec<u8>) {
        self.protocol_version.write(out);
        self.last_zxid_seen.write(out);
        self.time_out.write(out);
        self.session_id.write(out);
        self.passwd.write(out);
        if let Some(read_only) = self.read_only {
            read_only.write(out);
        }
    }
    fn read(reader: &mut Reader<'_>) -> Result<Self, JuteError> {
        Ok(ConnectRequest {
            protocol_version: i32::read(reader)?,
            last_zxid_seen: i64::read(reader)?,
            time_out: i32::read(reader)?,
            session_id: i64::read(reader)?,
            passwd: Bytes::read(reader)?,
            read_only: if reader.is_empty() { None } else { Some(bool::read(reader)?) },
        })
    }
}
impl Record for ConnectRequest {}

/// Answer to [`ConnectRequest`]; `read_only` is written only when the request carried it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectResponse {
    pub protocol_version: i32,
    pub time_out: i32,
    pub session_id: i64,
    pub passwd: Bytes,
    pub read_only: Option<bool>,
}

impl Field for ConnectResponse {
    fn write(&self, out: &mut Vec<u8>) {
        self.protocol_version.write(out);
        self.time_out.write(out);
        self.session_id.write(out);
        self.passwd.write(out);
        if let Some(read_only) = self.read_only {
            read_only.write(out);
        }
    }
    fn read(reader: &mut Reader<'_>) -> Result<Self, JuteError> {
        Ok(ConnectResponse {
            protocol_version: i32::read(reader)?,
            time_out: i32::read(reader)?,
            session_id: i64::read(reader)?,
            passwd: Bytes::read(reader)?,
            read_only: if reader.is_empty() { None } else { Some(bool::read(reader)?) },
        })
    }
}
impl Record for ConnectResponse {}

jute_record! {
    pub struct SetWatches {
        pub relative_zxid: i64,
        pub data_watches: Vec<String>,
        pub exist_watches: Vec<String>,
        pub child_watches: Vec<String>,
    }

    pub struct SetWatches2 {
        pub relative_zxid: i64,
        pub data_watches: Vec<String>,
        pub exist_watches: Vec<String>,
        pub child_watches: Vec<String>,
        pub persistent_watches: Vec<String>,
        pub persistent_recursive_watches: Vec<String>,
    }

    pub struct RequestHeader {
        pub xid: i32,
        pub r#type: i32,
    }

    /// Separates the operations of a multi request or response.
    pub struct MultiHeader {
        pub r#type: i32,
        pub done: bool,
        pub err: i32,
    }

    pub struct AuthPacket {
        pub r#type: i32,
        pub scheme: String,
        pub auth: Bytes,
    }

    pub struct ReplyHeader {
        pub xid: i32,
        pub zxid: i64,
        pub err: i32,
    }

    pub struct GetDataRequest {
        pub path: String,
        pub watch: bool,
    }

    pub struct SetDataRequest {
        pub path: String,
        pub data: Option<Bytes>,
        pub version: i32,
    }

    pub struct ReconfigRequest {
        pub joining_servers: Option<String>,
        pub leaving_servers: Option<String>,
        pub new_members: Option<String>,
        pub cur_config_id: i64,
    }

    pub struct SetDataResponse {
        pub stat: Stat,
    }

    pub struct GetSaslRequest {
        pub token: Option<Bytes>,
    }

    pub struct SetSaslRequest {
        pub token: Option<Bytes>,
    }

    pub struct SetSaslResponse {
        pub token: Option<Bytes>,
    }

    pub struct CreateRequest {
        pub path: String,
        pub data: Option<Bytes>,
        pub acl: Vec<Acl>,
        pub flags: i32,
    }

    pub struct CreateTtlRequest {
        pub path: String,
        pub data: Option<Bytes>,
        pub acl: Vec<Acl>,
        pub flags: i32,
        pub ttl: i64,
    }

    pub struct DeleteRequest {
        pub path: String,
        pub version: i32,
    }

    pub struct GetChildrenRequest {
        pub path: String,
        pub watch: bool,
    }

    pub struct GetAllChildrenNumberRequest {
        pub path: String,
    }

    pub struct GetStatPersistedRequest {
        pub path: String,
    }

    pub struct GetChildren2Request {
        pub path: String,
        pub watch: bool,
    }

    pub struct CheckVersionRequest {
        pub path: String,
        pub version: i32,
    }

    pub struct GetMaxChildrenRequest {
        pub path: String,
    }

    pub struct GetMaxChildrenResponse {
        pub max: i32,
    }

    pub struct SetMaxChildrenRequest {
        pub path: String,
        pub max: i32,
    }

    pub struct SyncRequest {
        pub path: String,
    }

    pub struct SyncResponse {
        pub path: String,
    }

    pub struct GetAclRequest {
        pub path: String,
    }

    pub struct SetAclRequest {
        pub path: String,
        pub acl: Vec<Acl>,
        pub version: i32,
    }

    pub struct SetAclResponse {
        pub stat: Stat,
    }

    pub struct AddWatchRequest {
        pub path: String,
        pub mode: i32,
    }

    pub struct WatcherEvent {
        pub r#type: i32,
        pub state: i32,
        pub path: String,
    }

    pub struct ErrorResponse {
        pub err: i32,
    }

    pub struct CreateResponse {
        pub path: String,
    }

    pub struct Create2Response {
        pub path: String,
        pub stat: Stat,
    }

    pub struct ExistsRequest {
        pub path: String,
        pub watch: bool,
    }

    pub struct ExistsResponse {
        pub stat: Stat,
    }

    pub struct GetDataResponse {
        pub data: Option<Bytes>,
        pub stat: Stat,
    }

    pub struct GetChildrenResponse {
        pub children: Vec<String>,
    }

    pub struct GetAllChildrenNumberResponse {
        pub total_number: i32,
    }

    pub struct GetStatPersistedResponse {
        pub stat_persisted: StatPersisted,
    }

    pub struct GetChildren2Response {
        pub children: Vec<String>,
        pub stat: Stat,
    }

    pub struct GetAclResponse {
        pub acl: Vec<Acl>,
        pub stat: Stat,
    }

    pub struct CheckWatchesRequest {
        pub path: String,
        pub r#type: i32,
    }

    pub struct RemoveWatchesRequest {
        pub path: String,
        pub r#type: i32,
    }

    pub struct GetEphemeralsRequest {
        pub prefix_path: String,
    }

    pub struct GetEphemeralsResponse {
        pub ephemerals: Vec<String>,
    }

    pub struct WhoAmIResponse {
        pub client_info: Vec<ClientInfo>,
    }
}

/// The body of a deleteContainer request (server-internal): one buffer holding the path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteContainerRequest {
    pub path: String,
}

impl Field for DeleteContainerRequest {
    fn write(&self, out: &mut Vec<u8>) {
        Bytes::copy_from_slice(self.path.as_bytes()).write(out);
    }
    fn read(reader: &mut Reader<'_>) -> Result<Self, JuteError> {
        let bytes = Bytes::read(reader)?;
        let path = String::from_utf8(bytes.to_vec()).map_err(|_| JuteError::InvalidUtf8)?;
        Ok(DeleteContainerRequest { path })
    }
}
impl Record for DeleteContainerRequest {}

/// Appends a length-prefixed frame holding `payload` to `out`.
pub fn put_frame(out: &mut Vec<u8>, payload: &[u8]) {
    out.put_i32(i32::try_from(payload.len()).unwrap_or(i32::MAX));
    out.put_slice(payload);
}
