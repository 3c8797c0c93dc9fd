//! Typed client requests: the record each opcode carries, and the multi / multiRead encodings.

use crate::archive::{Field, JuteError, Reader};
use crate::consts::op;
use crate::proto::*;
use crate::records::Stat;
use bytes::Bytes;

/// A decoded client request body, one variant per opcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Create(CreateRequest),
    Create2(CreateRequest),
    CreateContainer(CreateRequest),
    CreateTtl(CreateTtlRequest),
    Delete(DeleteRequest),
    DeleteContainer(DeleteContainerRequest),
    Exists(ExistsRequest),
    GetData(GetDataRequest),
    SetData(SetDataRequest),
    GetAcl(GetAclRequest),
    SetAcl(SetAclRequest),
    GetChildren(GetChildrenRequest),
    GetChildren2(GetChildren2Request),
    Sync(SyncRequest),
    Ping,
    Check(CheckVersionRequest),
    Multi(Vec<MultiOp>),
    MultiRead(Vec<MultiOp>),
    Reconfig(ReconfigRequest),
    CheckWatches(CheckWatchesRequest),
    RemoveWatches(RemoveWatchesRequest),
    Auth(AuthPacket),
    SetWatches(SetWatches),
    SetWatches2(SetWatches2),
    Sasl(GetSaslRequest),
    GetEphemerals(GetEphemeralsRequest),
    GetAllChildrenNumber(GetAllChildrenNumberRequest),
    AddWatch(AddWatchRequest),
    WhoAmI,
    CloseSession,
}

/// Why a request body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("unknown opcode {0}")]
    UnknownOpcode(i32),
    #[error("opcode {opcode} is not allowed inside a multi")]
    InvalidMultiOp { opcode: i32 },
    #[error("malformed request: {0}")]
    Malformed(#[from] JuteError),
}

impl Request {
    /// Decodes the body of a request with opcode `opcode`. Like Java, bytes after the record are
    /// ignored.
    pub fn decode(opcode: i32, body: &[u8]) -> Result<Request, RequestError> {
        Request::read_body(opcode, &mut Reader::new(body))
    }

    /// [`Request::decode`], with large values sharing `body`'s allocation ([`Reader::shared`]).
    pub fn decode_shared(opcode: i32, body: &Bytes) -> Result<Request, RequestError> {
        Request::read_body(opcode, &mut Reader::shared(body))
    }

    fn read_body(opcode: i32, r: &mut Reader<'_>) -> Result<Request, RequestError> {
        Ok(match opcode {
            op::CREATE => Request::Create(Field::read(r)?),
            op::CREATE2 => Request::Create2(Field::read(r)?),
            op::CREATE_CONTAINER => Request::CreateContainer(Field::read(r)?),
            op::CREATE_TTL => Request::CreateTtl(Field::read(r)?),
            op::DELETE => Request::Delete(Field::read(r)?),
            op::DELETE_CONTAINER => Request::DeleteContainer(Field::read(r)?),
            op::EXISTS => Request::Exists(Field::read(r)?),
            op::GET_DATA => Request::GetData(Field::read(r)?),
            op::SET_DATA => Request::SetData(Field::read(r)?),
            op::GET_ACL => Request::GetAcl(Field::read(r)?),
            op::SET_ACL => Request::SetAcl(Field::read(r)?),
            op::GET_CHILDREN => Request::GetChildren(Field::read(r)?),
            op::GET_CHILDREN2 => Request::GetChildren2(Field::read(r)?),
            op::SYNC => Request::Sync(Field::read(r)?),
            op::PING => Request::Ping,
            op::CHECK => Request::Check(Field::read(r)?),
            op::MULTI => Request::Multi(read_multi_ops(r, false)?),
            op::MULTI_READ => Request::MultiRead(read_multi_ops(r, true)?),
            op::RECONFIG => Request::Reconfig(Field::read(r)?),
            op::CHECK_WATCHES => Request::CheckWatches(Field::read(r)?),
            op::REMOVE_WATCHES => Request::RemoveWatches(Field::read(r)?),
            op::AUTH => Request::Auth(Field::read(r)?),
            op::SET_WATCHES => Request::SetWatches(Field::read(r)?),
            op::SET_WATCHES2 => Request::SetWatches2(Field::read(r)?),
            op::SASL => Request::Sasl(Field::read(r)?),
            op::GET_EPHEMERALS => Request::GetEphemerals(Field::read(r)?),
            op::GET_ALL_CHILDREN_NUMBER => Request::GetAllChildrenNumber(Field::read(r)?),
            op::ADD_WATCH => Request::AddWatch(Field::read(r)?),
            op::WHO_AM_I => Request::WhoAmI,
            op::CLOSE_SESSION => Request::CloseSession,
            other => return Err(RequestError::UnknownOpcode(other)),
        })
    }

    /// Appends the body of this request (without the RequestHeader).
    pub fn write_body(&self, out: &mut Vec<u8>) {
        match self {
            Request::Create(r) | Request::Create2(r) | Request::CreateContainer(r) => r.write(out),
            Request::CreateTtl(r) => r.write(out),
            Request::Delete(r) => r.write(out),
            Request::DeleteContainer(r) => r.write(out),
            Request::Exists(r) => r.write(out),
            Request::GetData(r) => r.write(out),
            Request::SetData(r) => r.write(out),
            Request::GetAcl(r) => r.write(out),
            Request::SetAcl(r) => r.write(out),
            Request::GetChildren(r) => r.write(out),
            Request::GetChildren2(r) => r.write(out),
            Request::Sync(r) => r.write(out),
            Request::Check(r) => r.write(out),
            Request::Multi(ops) | Request::MultiRead(ops) => write_multi_ops(ops, out),
            Request::Reconfig(r) => r.write(out),
            Request::CheckWatches(r) => r.write(out),
            Request::RemoveWatches(r) => r.write(out),
            Request::Auth(r) => r.write(out),
            Request::SetWatches(r) => r.write(out),
            Request::SetWatches2(r) => r.write(out),
            Request::Sasl(r) => r.write(out),
            Request::GetEphemerals(r) => r.write(out),
            Request::GetAllChildrenNumber(r) => r.write(out),
            Request::AddWatch(r) => r.write(out),
            Request::Ping | Request::WhoAmI | Request::CloseSession => {}
        }
    }

    pub fn opcode(&self) -> i32 {
        match self {
            Request::Create(_) => op::CREATE,
            Request::Create2(_) => op::CREATE2,
            Request::CreateContainer(_) => op::CREATE_CONTAINER,
            Request::CreateTtl(_) => op::CREATE_TTL,
            Request::Delete(_) => op::DELETE,
            Request::DeleteContainer(_) => op::DELETE_CONTAINER,
            Request::Exists(_) => op::EXISTS,
            Request::GetData(_) => op::GET_DATA,
            Request::SetData(_) => op::SET_DATA,
            Request::GetAcl(_) => op::GET_ACL,
            Request::SetAcl(_) => op::SET_ACL,
            Request::GetChildren(_) => op::GET_CHILDREN,
            Request::GetChildren2(_) => op::GET_CHILDREN2,
            Request::Sync(_) => op::SYNC,
            Request::Ping => op::PING,
            Request::Check(_) => op::CHECK,
            Request::Multi(_) => op::MULTI,
            Request::MultiRead(_) => op::MULTI_READ,
            Request::Reconfig(_) => op::RECONFIG,
            Request::CheckWatches(_) => op::CHECK_WATCHES,
            Request::RemoveWatches(_) => op::REMOVE_WATCHES,
            Request::Auth(_) => op::AUTH,
            Request::SetWatches(_) => op::SET_WATCHES,
            Request::SetWatches2(_) => op::SET_WATCHES2,
            Request::Sasl(_) => op::SASL,
            Request::GetEphemerals(_) => op::GET_EPHEMERALS,
            Request::GetAllChildrenNumber(_) => op::GET_ALL_CHILDREN_NUMBER,
            Request::AddWatch(_) => op::ADD_WATCH,
            Request::WhoAmI => op::WHO_AM_I,
            Request::CloseSession => op::CLOSE_SESSION,
        }
    }
}

/// One operation of a multi (writes and check) or multiRead (getData, getChildren).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiOp {
    Create(CreateRequest),
    Create2(CreateRequest),
    CreateContainer(CreateRequest),
    CreateTtl(CreateTtlRequest),
    Delete(DeleteRequest),
    SetData(SetDataRequest),
    Check(CheckVersionRequest),
    GetChildren(GetChildrenRequest),
    GetData(GetDataRequest),
}

impl MultiOp {
    pub fn opcode(&self) -> i32 {
        match self {
            MultiOp::Create(_) => op::CREATE,
            MultiOp::Create2(_) => op::CREATE2,
            MultiOp::CreateContainer(_) => op::CREATE_CONTAINER,
            MultiOp::CreateTtl(_) => op::CREATE_TTL,
            MultiOp::Delete(_) => op::DELETE,
            MultiOp::SetData(_) => op::SET_DATA,
            MultiOp::Check(_) => op::CHECK,
            MultiOp::GetChildren(_) => op::GET_CHILDREN,
            MultiOp::GetData(_) => op::GET_DATA,
        }
    }

    pub fn path(&self) -> &str {
        match self {
            MultiOp::Create(r) | MultiOp::Create2(r) | MultiOp::CreateContainer(r) => &r.path,
            MultiOp::CreateTtl(r) => &r.path,
            MultiOp::Delete(r) => &r.path,
            MultiOp::SetData(r) => &r.path,
            MultiOp::Check(r) => &r.path,
            MultiOp::GetChildren(r) => &r.path,
            MultiOp::GetData(r) => &r.path,
        }
    }

    fn write_body(&self, out: &mut Vec<u8>) {
        match self {
            MultiOp::Create(r) | MultiOp::Create2(r) | MultiOp::CreateContainer(r) => r.write(out),
            MultiOp::CreateTtl(r) => r.write(out),
            MultiOp::Delete(r) => r.write(out),
            MultiOp::SetData(r) => r.write(out),
            MultiOp::Check(r) => r.write(out),
            MultiOp::GetChildren(r) => r.write(out),
            MultiOp::GetData(r) => r.write(out),
        }
    }
}

const END_OF_MULTI: MultiHeader = MultiHeader { r#type: -1, done: true, err: -1 };

fn read_multi_ops(reader: &mut Reader<'_>, read_only: bool) -> Result<Vec<MultiOp>, RequestError> {
    let mut ops = Vec::new();
    loop {
        let header = MultiHeader::read(reader)?;
        if header.done {
            return Ok(ops);
        }
        let opcode = header.r#type;
        let op = match (opcode, read_only) {
            (op::CREATE, false) => MultiOp::Create(Field::read(reader)?),
            (op::CREATE2, false) => MultiOp::Create2(Field::read(reader)?),
            (op::CREATE_CONTAINER, false) => MultiOp::CreateContainer(Field::read(reader)?),
            (op::CREATE_TTL, false) => MultiOp::CreateTtl(Field::read(reader)?),
            (op::DELETE, false) => MultiOp::Delete(Field::read(reader)?),
            (op::SET_DATA, false) => MultiOp::SetData(Field::read(reader)?),
            (op::CHECK, false) => MultiOp::Check(Field::read(reader)?),
            (op::GET_CHILDREN, true) => MultiOp::GetChildren(Field::read(reader)?),
            (op::GET_DATA, true) => MultiOp::GetData(Field::read(reader)?),
            _ => return Err(RequestError::InvalidMultiOp { opcode }),
        };
        ops.push(op);
    }
}

fn write_multi_ops(ops: &[MultiOp], out: &mut Vec<u8>) {
    for op in ops {
        MultiHeader { r#type: op.opcode(), done: false, err: -1 }.write(out);
        op.write_body(out);
    }
    END_OF_MULTI.write(out);
}

/// One result of a multi / multiRead response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpResult {
    /// Result of a plain create (op 1): the path only.
    Create {
        path: String,
    },
    /// Result of create2 / createTTL / createContainer.
    Create2 {
        path: String,
        stat: Stat,
    },
    Delete,
    SetData {
        stat: Stat,
    },
    Check,
    GetChildren {
        children: Vec<String>,
    },
    GetData {
        data: Option<Bytes>,
        stat: Stat,
    },
    Error {
        err: i32,
    },
}

impl OpResult {
    fn header_type(&self) -> i32 {
        match self {
            OpResult::Create { .. } => op::CREATE,
            OpResult::Create2 { .. } => op::CREATE2,
            OpResult::Delete => op::DELETE,
            OpResult::SetData { .. } => op::SET_DATA,
            OpResult::Check => op::CHECK,
            OpResult::GetChildren { .. } => op::GET_CHILDREN,
            OpResult::GetData { .. } => op::GET_DATA,
            OpResult::Error { .. } => op::ERROR,
        }
    }
}

/// The body of a multi / multiRead reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiResponse {
    pub results: Vec<OpResult>,
}

impl Field for MultiResponse {
    fn write(&self, out: &mut Vec<u8>) {
        for result in &self.results {
            let err = match result {
                OpResult::Error { err } => *err,
                _ => 0,
            };
            MultiHeader { r#type: result.header_type(), done: false, err }.write(out);
            match result {
                OpResult::Create { path } => path.write(out),
                OpResult::Create2 { path, stat } => {
                    path.write(out);
                    stat.write(out);
                }
                OpResult::Delete | OpResult::Check => {}
                OpResult::SetData { stat } => stat.write(out),
                OpResult::GetChildren { children } => children.write(out),
                OpResult::GetData { data, stat } => {
                    data.write(out);
                    stat.write(out);
                }
                OpResult::Error { err } => err.write(out),
            }
        }
        END_OF_MULTI.write(out);
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, JuteError> {
        let mut results = Vec::new();
        loop {
            let header = MultiHeader::read(reader)?;
            if header.done {
                return Ok(MultiResponse { results });
            }
            results.push(match header.r#type {
                op::CREATE => OpResult::Create { path: Field::read(reader)? },
                op::CREATE2 => OpResult::Create2 { path: Field::read(reader)?, stat: Field::read(reader)? },
                op::DELETE => OpResult::Delete,
                op::SET_DATA => OpResult::SetData { stat: Field::read(reader)? },
                op::CHECK => OpResult::Check,
                op::GET_CHILDREN => OpResult::GetChildren { children: Field::read(reader)? },
                op::GET_DATA => OpResult::GetData { data: Field::read(reader)?, stat: Field::read(reader)? },
                op::ERROR => OpResult::Error { err: Field::read(reader)? },
                other => {
                    return Err(JuteError::InvalidValue { what: "multi result type", value: other.into() })
                }
            });
        }
    }
}
impl crate::Record for MultiResponse {}

/// Encodes a multi or multiRead request body.
pub fn encode_multi(ops: &[MultiOp]) -> Vec<u8> {
    let mut out = Vec::new();
    write_multi_ops(ops, &mut out);
    out
}
