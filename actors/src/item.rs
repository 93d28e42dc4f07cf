//! The work item: the unit every flow processes and the store persists.
//!
//! An item moves `pending → in_flight → done`, or from `in_flight` to `retrying` (a transient
//! error, due again later) or `exception` (a person must look at it). An operator can then
//! `resolve` or `cancel` it, or send it back to `pending` with a retry.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// Milliseconds since the Unix epoch: the store's only notion of time, so tests can pass their own.
pub type Millis = u64;

/// The wall clock in [`Millis`].
pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

/// Item ids are allocated by the store in increasing order, so "sorted by id" means "sorted by
/// age". The id doubles as the idempotency key sent to receivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ItemId(pub u64);

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where an item is in its life. The discriminants are part of the on-disk key layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum ItemState {
    Pending = 1,
    InFlight = 2,
    Retrying = 3,
    Exception = 4,
    Done = 5,
    Resolved = 6,
    Cancelled = 7,
}

impl ItemState {
    pub const ALL: [ItemState; 7] = [
        ItemState::Pending,
        ItemState::InFlight,
        ItemState::Retrying,
        ItemState::Exception,
        ItemState::Done,
        ItemState::Resolved,
        ItemState::Cancelled,
    ];

    pub fn from_u8(b: u8) -> Option<ItemState> {
        Self::ALL.into_iter().find(|s| *s as u8 == b)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Pending => "pending",
            ItemState::InFlight => "in_flight",
            ItemState::Retrying => "retrying",
            ItemState::Exception => "exception",
            ItemState::Done => "done",
            ItemState::Resolved => "resolved",
            ItemState::Cancelled => "cancelled",
        }
    }

    /// Terminal states never become due again on their own.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ItemState::Done | ItemState::Resolved | ItemState::Cancelled
        )
    }
}

impl fmt::Display for ItemState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ItemState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown state {s:?}; expected one of pending, in_flight, retrying, exception, done, resolved, cancelled"
                )
            })
    }
}

/// The persisted metadata of an item. The payload is stored apart from it because metadata is
/// rewritten on every state change while the payload (up to Shopify-sized 16 KiB and more) is
/// written once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub id: ItemId,
    pub flow: String,
    /// What the payload is, within its flow (e.g. a webhook topic such as `orders/create`).
    pub kind: String,
    /// The business key an operator searches by (order name, SKU, …).
    pub key: String,
    pub state: ItemState,
    /// How many times the item has been claimed for processing.
    pub attempts: u32,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// When the item is next due: its retry time while retrying, its lease expiry while in flight.
    pub due_at: Millis,
    pub last_error: Option<String>,
    pub dedupe_key: Option<String>,
    /// An operator's resolve is carried out by the flow (e.g. releasing a held order to its
    /// targets) rather than just closing the item: see [`NewItem::resolved_by_flow`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub flow_resolves: bool,
    /// An operator resolved the item and the flow has yet to carry it out; when it completes,
    /// the item is `resolved` rather than `done`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resolving: bool,
}

/// An item as a producer hands it to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    pub flow: String,
    pub kind: String,
    pub key: String,
    pub payload: Vec<u8>,
    /// A second enqueue with the same dedupe key (within the flow) is a no-op reporting the first id.
    pub dedupe_key: Option<String>,
    /// Stored straight into `exception` with this reason: input that was accepted (so the
    /// sender stops retrying) but cannot be processed without a person, e.g. a signed webhook
    /// whose body is not JSON.
    pub exception: Option<String>,
    pub flow_resolves: bool,
}

impl NewItem {
    pub fn new(
        flow: impl Into<String>,
        kind: impl Into<String>,
        key: impl Into<String>,
        payload: Vec<u8>,
    ) -> NewItem {
        NewItem {
            flow: flow.into(),
            kind: kind.into(),
            key: key.into(),
            payload,
            dedupe_key: None,
            exception: None,
            flow_resolves: false,
        }
    }

    pub fn dedupe(mut self, key: impl Into<String>) -> NewItem {
        self.dedupe_key = Some(key.into());
        self
    }

    pub fn held(mut self, reason: impl Into<String>) -> NewItem {
        self.exception = Some(reason.into());
        self
    }

    /// An operator's resolve sends the item back to its flow, flagged [`Item::resolving`],
    /// instead of closing it: for items whose resolution is work (release a held order, approve
    /// a return). The flow's success then closes it as `resolved`.
    pub fn resolved_by_flow(mut self) -> NewItem {
        self.flow_resolves = true;
        self
    }
}

/// What an enqueue did with one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enqueued {
    pub id: ItemId,
    /// True when the dedupe key was already known and nothing was stored.
    pub duplicate: bool,
}

/// An item handed to a flow for processing, with the lease it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub item: Item,
    pub payload: Vec<u8>,
}

impl Claimed {
    /// The attempt number the completion must quote: a stale lease cannot complete the item.
    pub fn attempt(&self) -> u32 {
        self.item.attempts
    }
}

/// How a flow finished with a claimed item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Completion {
    Done,
    /// Done, with a line for the history.
    Noted {
        note: String,
    },
    /// A transient failure: due again at `at`.
    Retry {
        at: Millis,
        error: String,
    },
    /// Needs a person.
    Exception {
        reason: String,
    },
}

/// One line of an item's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: Millis,
    pub from: Option<ItemState>,
    pub to: ItemState,
    pub note: Option<String>,
}

/// What an operator asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatorAction {
    /// Due again now; refused on finished items (done, resolved, cancelled), whose work a
    /// retry would do a second time.
    Retry,
    /// A retry that also re-runs finished items: asked for explicitly, and recorded as a
    /// deliberate re-run (`retry-again`) on the items it re-runs.
    RetryAgain,
    Resolve,
    Cancel,
}

impl OperatorAction {
    pub fn as_str(self) -> &'static str {
        match self {
            OperatorAction::Retry => "retry",
            OperatorAction::RetryAgain => "retry-again",
            OperatorAction::Resolve => "resolve",
            OperatorAction::Cancel => "cancel",
        }
    }
}

/// One entry of the audit log: who did what to which item, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: Millis,
    pub who: String,
    pub action: String,
    pub target: String,
    pub note: Option<String>,
}

/// What a flow decided about one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Done, with what the flow did written in the item's history (the record it resolved
    /// to, what it wrote), so an operator sees it in the item's detail.
    Noted {
        note: String,
    },
    /// A transient failure; `after` overrides the backoff (e.g. a `Retry-After`).
    Retry {
        error: String,
        after: Option<Duration>,
    },
    /// Needs a person: invalid data, a permanent rejection.
    Exception {
        reason: String,
    },
}
