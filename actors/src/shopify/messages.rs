//! Messages to the Shopify client actor.

use ractor::RpcReplyPort;

use super::ShopifyError;
use super::client::Call;

/// Messages to the Shopify client actor.
pub enum ShopifyMsg {
    /// Run one GraphQL call (grant, POST, retries) in a task of the actor; the reply carries
    /// the response's `data`.
    Execute {
        call: Call,
        reply: RpcReplyPort<Result<serde_json::Value, ShopifyError>>,
    },
    /// Fetch a bulk operation's result file (a signed URL, fetched without credentials).
    Download {
        url: String,
        reply: RpcReplyPort<Result<String, ShopifyError>>,
    },
    /// Upload a staged file (a bulk mutation's variables) to the signed target
    /// `stagedUploadsCreate` gave, without credentials.
    Upload {
        target: super::operations::bulk::StagedTarget,
        file: Vec<u8>,
        reply: RpcReplyPort<Result<(), ShopifyError>>,
    },
    /// A call task finished.
    Finished,
}
