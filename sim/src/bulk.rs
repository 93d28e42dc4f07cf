//! The shop's bulk operations: what `bulkOperationRunQuery` started and the JSONL each one
//! produced, served by the simulator at `{base_url}/bulk/{id}.jsonl` (Shopify serves a signed
//! storage URL; no access token is needed to download it either).
//!
//! The simulator runs a bulk query to completion when it is submitted (a shop of this size
//! takes milliseconds), so the operation is `COMPLETED` from the first poll on; clients still
//! poll as they must against Shopify.

use std::collections::BTreeMap;

use super::shop::Id;
use super::time::Timestamp;

/// One bulk operation.
#[derive(Clone, Debug, PartialEq)]
pub struct BulkOp {
    pub id: Id,
    /// The inner query as submitted.
    pub query: String,
    /// `COMPLETED` or `FAILED`.
    pub status: &'static str,
    /// `BulkOperationErrorCode` when failed.
    pub error_code: Option<&'static str>,
    pub created_at: Timestamp,
    pub completed_at: Timestamp,
    /// Lines in the result (root objects: this simulator rejects nested connections).
    pub object_count: u64,
    /// The JSONL result, one object per line.
    pub result: String,
}

/// All bulk operations of the shop, and where their results are served.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BulkOperations {
    pub ops: BTreeMap<Id, BulkOp>,
    /// `http://127.0.0.1:PORT` of the running simulator; without it (a shop outside a server)
    /// results have no URL.
    pub base_url: Option<String>,
}

impl BulkOperations {
    /// The download URL of operation `id`'s result.
    pub fn url(&self, id: Id) -> Option<String> {
        let op = self.ops.get(&id)?;
        if op.status != "COMPLETED" || op.object_count == 0 {
            return None;
        }
        self.base_url
            .as_ref()
            .map(|base| format!("{base}/bulk/{id}.jsonl"))
    }

    /// The most recent operation.
    pub fn current(&self) -> Option<&BulkOp> {
        self.ops.values().next_back()
    }
}
