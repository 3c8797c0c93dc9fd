//! Records of `org.apache.zookeeper.txn`: what the txn log holds and proposals carry.

use crate::jute_record;
use crate::records::Acl;
use bytes::Bytes;

jute_record! {
    /// Tree digest appended after a txn when digests are enabled.
    pub struct TxnDigest {
        pub version: i32,
        pub tree_digest: i64,
    }

    pub struct TxnHeader {
        pub client_id: i64,
        pub cxid: i32,
        pub zxid: i64,
        pub time: i64,
        pub r#type: i32,
    }

    /// A create from logs written before parentCVersion existed.
    pub struct CreateTxnV0 {
        pub path: String,
        pub data: Option<Bytes>,
        pub acl: Vec<Acl>,
        pub ephemeral: bool,
    }

    pub struct CreateTxn {
        pub path: String,
        pub data: Option<Bytes>,
        pub acl: Vec<Acl>,
        pub ephemeral: bool,
        pub parent_c_version: i32,
    }

    pub struct CreateTtlTxn {
        pub path: String,
        pub data: Option<Bytes>,
        pub acl: Vec<Acl>,
        pub parent_c_version: i32,
        pub ttl: i64,
    }

    pub struct CreateContainerTxn {
        pub path: String,
        pub data: Option<Bytes>,
        pub acl: Vec<Acl>,
        pub parent_c_version: i32,
    }

    pub struct DeleteTxn {
        pub path: String,
    }

    pub struct SetDataTxn {
        pub path: String,
        pub data: Option<Bytes>,
        pub version: i32,
    }

    pub struct CheckVersionTxn {
        pub path: String,
        pub version: i32,
    }

    pub struct SetAclTxn {
        pub path: String,
        pub acl: Vec<Acl>,
        pub version: i32,
    }

    pub struct SetMaxChildrenTxn {
        pub path: String,
        pub max: i32,
    }

    pub struct CreateSessionTxn {
        pub time_out: i32,
    }

    pub struct CloseSessionTxn {
        pub paths2_delete: Vec<String>,
    }

    pub struct ErrorTxn {
        pub err: i32,
    }

    /// One sub-txn of a multi: its type and its encoded record.
    pub struct Txn {
        pub r#type: i32,
        pub data: Bytes,
    }

    pub struct MultiTxn {
        pub txns: Vec<Txn>,
    }
}

use crate::archive::{length_field, write_length, Field, JuteError, Reader};
use crate::consts::op;

/// A txn record chosen by its header type: the body of a log entry or proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnBody {
    /// create (1).
    Create(CreateTxn),
    /// create2 (15): the same record, logged under its own type.
    Create2(CreateTxn),
    CreateContainer(CreateContainerTxn),
    CreateTtl(CreateTtlTxn),
    /// delete (2).
    Delete(DeleteTxn),
    /// deleteContainer (20): a DeleteTxn under its own type.
    DeleteContainer(DeleteTxn),
    SetData(SetDataTxn),
    SetAcl(SetAclTxn),
    /// Only inside a multi.
    Check(CheckVersionTxn),
    CreateSession(CreateSessionTxn),
    /// `None` for logs written before closeSession carried the ephemerals to delete.
    CloseSession(Option<CloseSessionTxn>),
    Error(ErrorTxn),
    /// reconfig (16): a SetDataTxn on /zookeeper/config.
    Reconfig(SetDataTxn),
    /// multi (14): its sub-txns, each a single operation (a nested multi is refused on decode).
    Multi(Vec<TxnBody>),
}

impl TxnBody {
    /// Decodes a txn record of header type `txn_type` that spans all of `body`.
    pub fn decode(txn_type: i32, body: &[u8]) -> Result<TxnBody, JuteError> {
        let mut reader = Reader::new(body);
        let txn = Self::read_typed(txn_type, &mut reader)?;
        reader.finish()?;
        Ok(txn)
    }

    /// Reads a txn of type `txn_type` from `reader`, leaving what follows (e.g. a TxnDigest).
    pub fn read_typed(txn_type: i32, reader: &mut Reader<'_>) -> Result<TxnBody, JuteError> {
        Ok(match txn_type {
            op::CREATE => TxnBody::Create(read_create(reader)?),
            op::CREATE2 => TxnBody::Create2(read_create(reader)?),
            op::CREATE_CONTAINER => TxnBody::CreateContainer(Field::read(reader)?),
            op::CREATE_TTL => TxnBody::CreateTtl(Field::read(reader)?),
            op::DELETE => TxnBody::Delete(Field::read(reader)?),
            op::DELETE_CONTAINER => TxnBody::DeleteContainer(Field::read(reader)?),
            op::SET_DATA => TxnBody::SetData(Field::read(reader)?),
            op::RECONFIG => TxnBody::Reconfig(Field::read(reader)?),
            op::SET_ACL => TxnBody::SetAcl(Field::read(reader)?),
            op::CHECK => TxnBody::Check(Field::read(reader)?),
            op::CREATE_SESSION => TxnBody::CreateSession(Field::read(reader)?),
            op::CLOSE_SESSION => {
                TxnBody::CloseSession(if reader.is_empty() { None } else { Some(Field::read(reader)?) })
            }
            op::ERROR => TxnBody::Error(Field::read(reader)?),
            op::MULTI => {
                // A MultiTxn (vector of Txn {type, buffer}) read in place: each sub-txn straight
                // from its buffer's bytes, with no copy of the buffer first.
                let count = reader.read_length(Txn::MIN_SIZE)?.unwrap_or(0);
                let mut txns = Vec::with_capacity(count);
                for _ in 0..count {
                    let sub_type = reader.read_i32()?;
                    // Java only accepts single-operation txns inside a multi (DataTree.processTxn).
                    // Refusing a nested multi also bounds the recursion: ~12 bytes per nesting
                    // level would otherwise overflow the stack well within jute.maxbuffer.
                    if sub_type == op::MULTI {
                        return Err(JuteError::InvalidValue {
                            what: "txn type inside a multi",
                            value: op::MULTI.into(),
                        });
                    }
                    let length = reader.read_length(1)?.unwrap_or(0);
                    txns.push(reader.read_within(length, |sub| TxnBody::read_typed(sub_type, sub))?);
                }
                TxnBody::Multi(txns)
            }
            other => return Err(JuteError::InvalidValue { what: "txn type", value: other.into() }),
        })
    }

    /// An upper bound of what [`TxnBody::write`] produces (its paths, data and ACLs plus an
    /// allowance for the fixed fields), so a buffer sized by it does not grow while the txn is
    /// written.
    pub fn size_hint(&self) -> usize {
        fn acl_bytes(acl: &[Acl]) -> usize {
            acl.iter().map(|a| 16 + a.id.scheme.len() + a.id.id.len()).sum()
        }
        fn data_bytes(data: &Option<Bytes>) -> usize {
            data.as_ref().map_or(0, Bytes::len)
        }
        let variable = match self {
            TxnBody::Create(t) | TxnBody::Create2(t) => {
                t.path.len() + data_bytes(&t.data) + acl_bytes(&t.acl)
            }
            TxnBody::CreateContainer(t) => t.path.len() + data_bytes(&t.data) + acl_bytes(&t.acl),
            TxnBody::CreateTtl(t) => t.path.len() + data_bytes(&t.data) + acl_bytes(&t.acl),
            TxnBody::Delete(t) | TxnBody::DeleteContainer(t) => t.path.len(),
            TxnBody::SetData(t) | TxnBody::Reconfig(t) => t.path.len() + data_bytes(&t.data),
            TxnBody::SetAcl(t) => t.path.len() + acl_bytes(&t.acl),
            TxnBody::Check(t) => t.path.len(),
            TxnBody::CloseSession(Some(t)) => t.paths2_delete.iter().map(|p| 4 + p.len()).sum(),
            TxnBody::Multi(txns) => txns.iter().map(|t| 12 + t.size_hint()).sum(),
            TxnBody::CreateSession(_) | TxnBody::CloseSession(None) | TxnBody::Error(_) => 0,
        };
        32 + variable
    }

    /// The header type this body is logged with.
    pub fn txn_type(&self) -> i32 {
        match self {
            TxnBody::Create(_) => op::CREATE,
            TxnBody::Create2(_) => op::CREATE2,
            TxnBody::CreateContainer(_) => op::CREATE_CONTAINER,
            TxnBody::CreateTtl(_) => op::CREATE_TTL,
            TxnBody::Delete(_) => op::DELETE,
            TxnBody::DeleteContainer(_) => op::DELETE_CONTAINER,
            TxnBody::SetData(_) => op::SET_DATA,
            TxnBody::SetAcl(_) => op::SET_ACL,
            TxnBody::Check(_) => op::CHECK,
            TxnBody::CreateSession(_) => op::CREATE_SESSION,
            TxnBody::CloseSession(_) => op::CLOSE_SESSION,
            TxnBody::Error(_) => op::ERROR,
            TxnBody::Reconfig(_) => op::RECONFIG,
            TxnBody::Multi(_) => op::MULTI,
        }
    }

    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            TxnBody::Create(t) | TxnBody::Create2(t) => t.write(out),
            TxnBody::CreateContainer(t) => t.write(out),
            TxnBody::CreateTtl(t) => t.write(out),
            TxnBody::Delete(t) | TxnBody::DeleteContainer(t) => t.write(out),
            TxnBody::SetData(t) | TxnBody::Reconfig(t) => t.write(out),
            TxnBody::SetAcl(t) => t.write(out),
            TxnBody::Check(t) => t.write(out),
            TxnBody::CreateSession(t) => t.write(out),
            TxnBody::CloseSession(t) => {
                if let Some(t) = t {
                    t.write(out)
                }
            }
            TxnBody::Error(t) => t.write(out),
            // A MultiTxn (a vector of Txn {type, buffer}) written in place: each sub-txn goes
            // straight into `out` and its buffer length is filled in after it, where building
            // the MultiTxn grew and freed a buffer per sub-txn.
            TxnBody::Multi(txns) => {
                write_length(out, txns.len());
                for sub in txns {
                    sub.txn_type().write(out);
                    let length_at = out.len();
                    out.extend_from_slice(&[0; 4]);
                    sub.write(out);
                    let length = out.len() - length_at - 4;
                    out[length_at..length_at + 4].copy_from_slice(&length_field(length).to_be_bytes());
                }
            }
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }
}

/// Creates logged before parentCVersion existed (CreateTxnV0) are still accepted.
fn read_create(reader: &mut Reader<'_>) -> Result<CreateTxn, JuteError> {
    let v0 = CreateTxnV0::read(reader)?;
    let parent_c_version = if reader.remaining() >= 4 { i32::read(reader)? } else { -1 };
    Ok(CreateTxn { path: v0.path, data: v0.data, acl: v0.acl, ephemeral: v0.ephemeral, parent_c_version })
}
