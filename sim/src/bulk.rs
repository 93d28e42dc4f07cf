//! The shop's bulk operations: what `bulkOperationRunQuery` and `bulkOperationRunMutation`
//! started and the JSONL each one produced, served by the simulator at
//! `{base_url}/bulk/{id}.jsonl` (Shopify serves a signed storage URL; no access token is needed
//! to download it either).
//!
//! The simulator runs a bulk operation to completion when it is submitted (a shop of this size
//! takes milliseconds), so the operation is `COMPLETED` from the first poll on; clients still
//! poll as they must against Shopify.
//!
//! A bulk mutation reads its variables from a file the client uploaded first: Shopify hands
//! out a signed Google Cloud Storage form (`stagedUploadsCreate`), the client POSTs the file
//! there, then names the file's key as `stagedUploadPath`. Here the form posts to
//! `{base_url}/staged-uploads` and the files are kept in [`BulkOperations::staged`].

use std::collections::BTreeMap;

use super::shop::Id;
use super::time::Timestamp;

/// The largest file the staging bucket accepts (the policy's `content-length-range`, and
/// Shopify's limit on a bulk mutation's variables).
pub const STAGED_UPLOAD_LIMIT: usize = 100 * 1024 * 1024;

/// One bulk operation.
#[derive(Clone, Debug, PartialEq)]
pub struct BulkOp {
    pub id: Id,
    /// `QUERY` or `MUTATION` (`BulkOperationType`).
    pub kind: &'static str,
    /// The inner query or mutation as submitted.
    pub query: String,
    /// `COMPLETED` or `FAILED`.
    pub status: &'static str,
    /// `BulkOperationErrorCode` when failed.
    pub error_code: Option<&'static str>,
    pub created_at: Timestamp,
    pub completed_at: Timestamp,
    /// Lines in the result: every object of a query (roots and the children of nested
    /// connections), variable lines of a mutation.
    pub object_count: u64,
    /// Root objects of a query (the top-level connection's nodes); as `object_count` for a
    /// mutation.
    pub root_object_count: u64,
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
    /// Uploaded files by storage key (`tmp/1/bulk/…/vars.jsonl`), what `stagedUploadPath`
    /// names. Kept like Shopify's staging bucket keeps them: a file may be used again.
    pub staged: BTreeMap<String, Vec<u8>>,
    /// Staged upload targets handed out, so their keys never repeat.
    pub staged_targets: u64,
    /// Where the children of nested connections go in a query's JSONL.
    pub children: ChildOrder,
}

/// Where a bulk query writes the children of nested connections (each its own line, with
/// `__parentId`). Shopify writes a child after its parent but not necessarily right after
/// it; a client that reassembles objects must not depend on any order, and
/// [`ChildOrder::Scattered`] is there to prove that one does not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ChildOrder {
    /// Each parent, then its children (and theirs), as Shopify's examples show.
    #[default]
    AfterParent,
    /// Every page's children first, in reverse, then its parents: children before their
    /// parents and interleaved across them.
    Scattered,
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

    /// The most recent operation of a kind (`QUERY` or `MUTATION`).
    pub fn current(&self, kind: &str) -> Option<&BulkOp> {
        self.ops.values().rev().find(|op| op.kind == kind)
    }

    /// Where staged upload forms are posted.
    pub fn staged_upload_url(&self) -> Option<String> {
        self.base_url
            .as_ref()
            .map(|base| format!("{base}/staged-uploads"))
    }
}
