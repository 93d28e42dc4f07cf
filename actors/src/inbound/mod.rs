//! What a back-office request is made of, whichever way it comes in (`POST /api/v1/{path}`
//! or a CSV file dropped in a watched directory): a [`Resource`] names its list and records,
//! decodes each entry with [`Fields`] so that every bad entry is named by index and field, and
//! says which items an accepted request becomes. A flow module serves its resources by
//! returning them from [`crate::flows::module::FlowModule::inbound`]; the binary's intake does
//! the rest (auth, limits, request ids, storage, metrics) once for all of them.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use crate::item::NewItem;
use crate::store::{StoreError, StoreHandle};

pub mod csv;
pub mod fields;
pub mod json;
mod metafield;
pub mod report;
pub mod requests;

pub use fields::{Decode, Fields};
pub use metafield::MetafieldValue;
pub use report::{MAX_REPORTED, Report, describe};

/// One resource of the inbound API.
pub trait Resource: Send + Sync + 'static {
    /// `POST /api/v1/{PATH}`; also its `endpoint` on `/metrics`. It may name path
    /// parameters (`returns/{id}/decision`), which become head fields.
    const PATH: &'static str;
    /// The body's list of entries: `{"source": …, "levels": […]}`; empty for a resource whose
    /// body is one record, its head (`{"source": …, "decision": …}`).
    const LIST: &'static str;
    /// What one request is called in messages (`feed`).
    const NOUN: &'static str = "request";
    /// Columns a headerless CSV row must have (the first ones of `Entry::FIELDS`).
    const CSV_REQUIRED: usize = <Self::Entry as Decode>::FIELDS.len();
    /// The body's other top-level fields (`mode`), decoded from the top level.
    type Head: Decode + Send + 'static;
    type Entry: Decode + Send + 'static;

    /// The head of a CSV drop named `file`; `None`: this resource takes no CSV drops.
    fn csv_head(file: &str) -> Option<Self::Head> {
        let _ = file;
        None
    }

    /// The items an accepted request becomes; `id` is its request id.
    fn items(request: Accepted<Self>, id: &str) -> Vec<NewItem>
    where
        Self: Sized;

    /// Fields of the 202's answer beyond `request_id`, `accepted` and `items` (`mode`).
    fn answer(request: &Accepted<Self>, answer: &mut Map<String, Value>)
    where
        Self: Sized,
    {
        let _ = (request, answer);
    }
}

/// A request whose every entry was valid.
pub struct Accepted<R: Resource> {
    /// The sending system (`wms-eu`, `csv:stock.csv`).
    pub source: String,
    pub head: R::Head,
    pub entries: Vec<R::Entry>,
}

/// The head of a resource without top-level fields of its own.
pub struct NoHead;

impl Decode for NoHead {
    const FIELDS: &'static [&'static str] = &[];
    fn decode(_: &mut Fields<'_>) -> Option<NoHead> {
        Some(NoHead)
    }
}

/// A directory a resource's CSV files are dropped in.
#[derive(Debug, Clone)]
pub struct DropDir {
    pub dir: PathBuf,
    /// How often it is scanned.
    pub every: Duration,
}

impl DropDir {
    /// The drop directory a section's `watch_dir` and `watch_every` describe, if it has one.
    pub fn configured(dir: Option<&std::path::Path>, every: Duration) -> Option<DropDir> {
        dir.map(|dir| DropDir {
            dir: dir.to_path_buf(),
            every,
        })
    }
}

/// A check of a whole decoded request against the configuration (a field the configuration
/// says the back office may not change): what it reports makes the request a 400.
pub type Check<R> = Arc<dyn Fn(&Accepted<R>, &mut Report) + Send + Sync>;

/// `GET /api/v1/{path}/{rest…}`: what the flow knows about the record the rest of the path
/// names (`customers/crm/C-1`), `None` when it knows nothing.
pub type Lookup = Arc<
    dyn Fn(StoreHandle, Vec<String>) -> BoxFuture<'static, Result<Option<Value>, StoreError>>
        + Send
        + Sync,
>;

/// The usual [`Lookup`]: `GET /api/v1/{path}/{system}/{id}`, a record named by the back-office
/// system and its id; any other path knows nothing.
pub fn by_system_and_id<F, Fut>(lookup: F) -> Lookup
where
    F: Fn(StoreHandle, String, String) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Option<Value>, StoreError>> + Send + 'static,
{
    Arc::new(move |store, parts| match <[String; 2]>::try_from(parts) {
        Ok([system, id]) => Box::pin(lookup(store, system, id)),
        Err(_) => Box::pin(async { Ok(None) }),
    })
}

/// A resource as one configuration serves it: its limits, its drop directory, the checks its
/// configuration adds, and its lookup.
pub struct Served<R: Resource> {
    /// Entries accepted in one request.
    pub max_entries: usize,
    pub drop: Option<DropDir>,
    check: Option<Check<R>>,
    lookup: Option<Lookup>,
}

impl<R: Resource> Served<R> {
    pub fn new(max_entries: usize, drop: Option<DropDir>) -> Served<R> {
        Served {
            max_entries,
            drop,
            check: None,
            lookup: None,
        }
    }

    pub fn with_check(mut self, check: Check<R>) -> Served<R> {
        self.check = Some(check);
        self
    }

    pub fn with_lookup(mut self, lookup: Lookup) -> Served<R> {
        self.lookup = Some(lookup);
        self
    }
}

/// Makes a request's items once its id is known.
type MakeItems = Box<dyn FnOnce(&str) -> Vec<NewItem> + Send>;

/// An accepted request with its resource's type erased: what the intake stores.
pub struct Parsed {
    pub source: String,
    /// Entries accepted.
    pub accepted: usize,
    /// The answer's resource-specific fields.
    pub answer: Map<String, Value>,
    items: MakeItems,
}

impl Parsed {
    pub fn new<R: Resource>(request: Accepted<R>) -> Parsed {
        let mut answer = Map::new();
        R::answer(&request, &mut answer);
        Parsed {
            source: request.source.clone(),
            accepted: request.entries.len(),
            answer,
            items: Box::new(move |id| R::items(request, id)),
        }
    }

    /// The items it becomes under request id `id`.
    pub fn into_items(self, id: &str) -> Vec<NewItem> {
        (self.items)(id)
    }
}

/// A served resource with its type erased, so that every flow's sit in one list.
pub trait Inbound: Send + Sync {
    fn path(&self) -> &'static str;
    fn noun(&self) -> &'static str;
    /// Parses and validates a JSON body as it is read; `path` holds the values of the path's
    /// parameters by name.
    fn json(
        &self,
        body: &mut dyn Read,
        received_at: i64,
        path: &[(String, String)],
    ) -> Result<Parsed, Report>;
    /// Parses a CSV drop named `file`: its good rows, and the report of its bad ones. `None`:
    /// this resource takes no CSV.
    fn csv(&self, file: &str, bytes: &[u8], received_at: i64) -> Option<(Option<Parsed>, Report)>;
    fn drop_dir(&self) -> Option<&DropDir>;
    /// The resource's `GET /api/v1/{path}/{rest…}`, if it has one.
    fn lookup(&self) -> Option<&Lookup> {
        None
    }
}

impl<R: Resource> Inbound for Served<R> {
    fn path(&self) -> &'static str {
        R::PATH
    }

    fn noun(&self) -> &'static str {
        R::NOUN
    }

    fn json(
        &self,
        body: &mut dyn Read,
        received_at: i64,
        path: &[(String, String)],
    ) -> Result<Parsed, Report> {
        let request = json::parse_at::<R>(body, self.max_entries, received_at, path)?;
        if let Some(check) = &self.check {
            let mut report = Report::default();
            check(&request, &mut report);
            if !report.is_empty() {
                return Err(report);
            }
        }
        Ok(Parsed::new(request))
    }

    fn csv(&self, file: &str, bytes: &[u8], received_at: i64) -> Option<(Option<Parsed>, Report)> {
        let head = R::csv_head(file)?;
        let (accepted, report) = csv::parse::<R>(bytes, format!("csv:{file}"), head, received_at);
        Some((accepted.map(Parsed::new), report))
    }

    fn drop_dir(&self) -> Option<&DropDir> {
        self.drop.as_ref()
    }

    fn lookup(&self) -> Option<&Lookup> {
        self.lookup.as_ref()
    }
}
