//! `BulkOperationRunQuery` (start an asynchronous bulk query), `StagedUploadsCreate` and
//! `BulkOperationRunMutation` (start a bulk mutation over staged variables) and
//! `BulkOperation` (poll either). The result is a JSONL file at the operation's `url`, one
//! object per line.

use serde::{Deserialize, Serialize};

use super::{Operation, nullable_vec};
use crate::shopify::error::UserError;
use crate::shopify::gid::BulkOperationId;

/// The bulk query that maps every SKU of the shop to its inventory item: one JSONL line per
/// inventory item, `{"id": …, "sku": …}` (the item carries its variant's SKU, so no nested
/// object is needed). Bulk queries take no `first`.
pub const SKU_MAP_QUERY: &str = "{ inventoryItems { edges { node { id sku } } } }";

pub enum BulkOperationRunQuery {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunQueryVariables {
    pub query: String,
    pub group_objects: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunQueryResponse {
    pub bulk_operation_run_query: Option<RunQueryPayload>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunQueryPayload {
    pub bulk_operation: Option<BulkOperationRef>,
    #[serde(deserialize_with = "nullable_vec")]
    pub user_errors: Vec<UserError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkOperationRef {
    pub id: BulkOperationId,
    pub status: BulkStatus,
}

/// `BulkOperationStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BulkStatus {
    Created,
    Running,
    Completed,
    Canceling,
    Canceled,
    Failed,
    Expired,
}

impl BulkStatus {
    /// Whether the operation will not change any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            BulkStatus::Completed | BulkStatus::Canceled | BulkStatus::Failed | BulkStatus::Expired
        )
    }
}

impl Operation for BulkOperationRunQuery {
    const NAME: &'static str = "BulkOperationRunQuery";
    const DOCUMENT: &'static str = include_str!("bulk_operation_run_query.graphql");
    type Variables = RunQueryVariables;
    type Response = RunQueryResponse;

    fn estimate(_: &RunQueryVariables) -> f64 {
        10.0
    }
}

pub enum StagedUploadsCreate {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StagedUploadsVariables {
    pub input: Vec<StagedUploadInput>,
}

impl StagedUploadsVariables {
    /// One target for a bulk mutation's variables of `size` bytes.
    pub fn bulk_variables(size: usize) -> StagedUploadsVariables {
        StagedUploadsVariables {
            input: vec![StagedUploadInput {
                resource: "BULK_MUTATION_VARIABLES".into(),
                filename: "variables.jsonl".into(),
                mime_type: "text/jsonl".into(),
                http_method: "POST".into(),
                file_size: size.to_string(),
            }],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StagedUploadInput {
    pub resource: String,
    pub filename: String,
    pub mime_type: String,
    pub http_method: String,
    /// `UnsignedInt64`, a string.
    pub file_size: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StagedUploadsResponse {
    pub staged_uploads_create: Option<StagedUploadsPayload>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StagedUploadsPayload {
    #[serde(deserialize_with = "nullable_vec")]
    pub staged_targets: Vec<StagedTarget>,
    #[serde(deserialize_with = "nullable_vec")]
    pub user_errors: Vec<UserError>,
}

/// A signed upload target: POST a form of `parameters`, then the file, to `url`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StagedTarget {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub parameters: Vec<StagedParameter>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StagedParameter {
    pub name: String,
    pub value: String,
}

impl StagedTarget {
    /// The staged file's path, which bulkOperationRunMutation takes.
    pub fn key(&self) -> Option<&str> {
        self.parameters
            .iter()
            .find(|p| p.name == "key")
            .map(|p| p.value.as_str())
    }
}

impl Operation for StagedUploadsCreate {
    const NAME: &'static str = "StagedUploadsCreate";
    const DOCUMENT: &'static str = include_str!("staged_uploads_create.graphql");
    type Variables = StagedUploadsVariables;
    type Response = StagedUploadsResponse;

    fn estimate(_: &StagedUploadsVariables) -> f64 {
        10.0
    }
}

pub enum BulkOperationRunMutation {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunMutationVariables {
    pub mutation: String,
    pub staged_upload_path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunMutationResponse {
    pub bulk_operation_run_mutation: Option<RunQueryPayload>,
}

impl Operation for BulkOperationRunMutation {
    const NAME: &'static str = "BulkOperationRunMutation";
    const DOCUMENT: &'static str = include_str!("bulk_operation_run_mutation.graphql");
    type Variables = RunMutationVariables;
    type Response = RunMutationResponse;

    fn estimate(_: &RunMutationVariables) -> f64 {
        10.0
    }
}

pub enum BulkOperation {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BulkOperationVariables {
    pub id: BulkOperationId,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperationResponse {
    pub bulk_operation: Option<BulkOperationState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperationState {
    pub id: BulkOperationId,
    pub status: BulkStatus,
    /// `BulkOperationErrorCode` when it failed (`ACCESS_DENIED`, `INTERNAL_SERVER_ERROR`, `TIMEOUT`).
    pub error_code: Option<String>,
    /// An unsigned 64-bit integer, which GraphQL sends as a string.
    pub object_count: Option<String>,
    /// The JSONL result, once completed (null when the query matched nothing).
    pub url: Option<String>,
}

impl Operation for BulkOperation {
    const NAME: &'static str = "BulkOperation";
    const DOCUMENT: &'static str = include_str!("bulk_operation.graphql");
    type Variables = BulkOperationVariables;
    type Response = BulkOperationResponse;

    fn estimate(_: &BulkOperationVariables) -> f64 {
        1.0
    }
}

/// One line of the SKU map's JSONL.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SkuMapLine {
    pub id: crate::shopify::gid::InventoryItemId,
    pub sku: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_completed_operation_and_a_result_line() {
        let r: BulkOperationResponse = serde_json::from_str(
            r#"{"bulkOperation": {"id": "gid://shopify/BulkOperation/9", "status": "COMPLETED",
                "errorCode": null, "objectCount": "2", "url": "http://x/bulk/9.jsonl"}}"#,
        )
        .unwrap();
        let op = r.bulk_operation.unwrap();
        assert!(op.status.is_final());
        assert_eq!(op.id.id(), 9);
        let line: SkuMapLine =
            serde_json::from_str(r#"{"id":"gid://shopify/InventoryItem/2","sku":"A-1"}"#).unwrap();
        assert_eq!(line.sku.as_deref(), Some("A-1"));
        assert_eq!(line.id.id(), 2);
        assert!(!BulkStatus::Running.is_final());
    }
}
