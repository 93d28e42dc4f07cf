//! Nested connections in a bulk query, as Shopify writes them: the root connection's nodes are
//! the file's root lines, and every node of a connection nested in them becomes a line of its
//! own with `"__parentId"` (its parent node's `id`), its `edges`/`node` (or `nodes`) wrapper
//! gone. Plain lists stay inline in their parent's line.
//!
//! Shopify's limits, checked before anything runs: at most 5 connections in the query, nested
//! at most 2 deep (the root connection and one level below it), and no connection inside a
//! list field (`Order.refunds { refundLineItems }` is refused: the refund has no line of its
//! own for the items to point at).

use apollo_compiler::ExecutableDocument;
use apollo_compiler::executable::{Field, Selection, SelectionSet};
use serde_json::{Map, Value};

/// Shopify's limit on the connections of one bulk query, the root one included.
pub const MAX_CONNECTIONS: usize = 5;
/// Shopify's limit on how deep connections nest: the root connection is depth 1.
pub const MAX_DEPTH: usize = 2;

/// Where the connections are under an object: response key → what is below it. Only paths
/// that lead to a connection are kept.
#[derive(Debug, Default)]
pub struct Shape(Vec<(String, Below)>);

#[derive(Debug)]
enum Below {
    /// A nested connection; the shape of its nodes.
    Connection(Shape),
    /// An object or a list of objects, inline in the parent's line.
    Inline { list: bool, shape: Shape },
}

impl Shape {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The nested connections, for the limits: how many, and the deepest (counting the node
    /// this shape is of as depth `depth`).
    fn census(&self, depth: usize, count: &mut usize, deepest: &mut usize) {
        for (_, below) in &self.0 {
            match below {
                Below::Connection(shape) => {
                    *count += 1;
                    *deepest = (*deepest).max(depth + 1);
                    shape.census(depth + 1, count, deepest);
                }
                Below::Inline { shape, .. } => shape.census(depth, count, deepest),
            }
        }
    }

    /// Whether a connection sits somewhere inside a list field.
    fn connection_in_list(&self, in_list: bool) -> Option<String> {
        self.0.iter().find_map(|(key, below)| match below {
            Below::Connection(_) if in_list => Some(key.clone()),
            Below::Connection(shape) => shape.connection_in_list(false),
            Below::Inline { list, shape } => shape.connection_in_list(in_list || *list),
        })
    }
}

/// Every field selected in `set`, through inline fragments and fragment spreads alike (the
/// projected object has a key only where a selection applied).
fn fields<'a>(set: &'a SelectionSet, doc: &'a ExecutableDocument, out: &mut Vec<&'a Field>) {
    for s in &set.selections {
        match s {
            Selection::Field(f) => out.push(f),
            Selection::InlineFragment(i) => fields(&i.selection_set, doc, out),
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = doc.fragments.get(&spread.fragment_name) {
                    fields(&fragment.selection_set, doc, out);
                }
            }
        }
    }
}

fn is_connection(f: &Field) -> bool {
    f.definition
        .ty
        .inner_named_type()
        .as_str()
        .ends_with("Connection")
}

/// The shape below an object selected by `sets`.
pub fn shape(sets: &[&SelectionSet], doc: &ExecutableDocument) -> Shape {
    let mut all = Vec::new();
    for set in sets {
        fields(set, doc, &mut all);
    }
    let mut out: Vec<(String, Below)> = Vec::new();
    for f in &all {
        if f.selection_set.selections.is_empty() {
            continue;
        }
        let key = f.response_key().to_string();
        let below = if is_connection(f) {
            // The node's selections, under `edges { node }` or `nodes`.
            let mut wrappers = Vec::new();
            fields(&f.selection_set, doc, &mut wrappers);
            let mut node_sets: Vec<&SelectionSet> = Vec::new();
            for w in wrappers {
                match w.name.as_str() {
                    "nodes" => node_sets.push(&w.selection_set),
                    "edges" => {
                        let mut inner = Vec::new();
                        fields(&w.selection_set, doc, &mut inner);
                        node_sets.extend(
                            inner
                                .into_iter()
                                .filter(|n| n.name == "node")
                                .map(|n| &n.selection_set),
                        );
                    }
                    _ => {}
                }
            }
            Below::Connection(shape(&node_sets, doc))
        } else {
            let shape = shape(&[&f.selection_set], doc);
            if shape.is_empty() {
                continue;
            }
            Below::Inline {
                list: f.definition.ty.is_list(),
                shape,
            }
        };
        // The same key selected twice (merged by the projector): the first entry serves.
        if !out.iter().any(|(k, _)| *k == key) {
            out.push((key, below));
        }
    }
    Shape(out)
}

/// Shopify's limits on the shape below the root connection's nodes; `Err` is the user error.
pub fn check(root: &Shape) -> Result<(), String> {
    let (mut count, mut deepest) = (1, 1);
    root.census(1, &mut count, &mut deepest);
    if count > MAX_CONNECTIONS {
        return Err(format!(
            "Bulk queries cannot contain more than {MAX_CONNECTIONS} connections; this one has {count}."
        ));
    }
    if deepest > MAX_DEPTH {
        return Err(format!(
            "Bulk queries cannot contain connections with a nesting depth greater than {MAX_DEPTH}."
        ));
    }
    if let Some(key) = root.connection_in_list(false) {
        return Err(format!(
            "Queries that contain a connection field within a list field are not currently supported (`{key}`)."
        ));
    }
    Ok(())
}

/// One root node split into its lines: the node itself first, then each nested node (with
/// `__parentId`), each line before its own children.
pub fn split(node: Value, shape: &Shape) -> Result<Vec<Value>, String> {
    let Value::Object(mut root) = node else {
        return Ok(vec![node]);
    };
    let mut children = Vec::new();
    let id = root.get("id").and_then(|v| v.as_str()).map(str::to_string);
    take_children(&mut root, shape, id.as_deref(), &mut children)?;
    let mut lines = vec![Value::Object(root)];
    lines.extend(children);
    Ok(lines)
}

/// Moves the nested connections' nodes out of `object` into `out`, as lines of their own.
fn take_children(
    object: &mut Map<String, Value>,
    shape: &Shape,
    parent: Option<&str>,
    out: &mut Vec<Value>,
) -> Result<(), String> {
    for (key, below) in &shape.0 {
        match below {
            Below::Connection(node_shape) => {
                let Some(connection) = object.remove(key) else {
                    continue;
                };
                let nodes: Vec<Value> = match connection {
                    Value::Object(mut c) => match (c.remove("nodes"), c.remove("edges")) {
                        (Some(Value::Array(nodes)), _) => nodes,
                        (_, Some(Value::Array(edges))) => edges
                            .into_iter()
                            .filter_map(|mut e| e.get_mut("node").map(Value::take))
                            .collect(),
                        _ => Vec::new(),
                    },
                    _ => Vec::new(),
                };
                if nodes.is_empty() {
                    continue;
                }
                let parent = parent.ok_or_else(|| {
                    format!("The parent of the nested connection `{key}` must select `id`.")
                })?;
                for node in nodes {
                    let Value::Object(mut child) = node else {
                        continue;
                    };
                    let mut grandchildren = Vec::new();
                    let id = child.get("id").and_then(|v| v.as_str()).map(str::to_string);
                    take_children(&mut child, node_shape, id.as_deref(), &mut grandchildren)?;
                    child.insert("__parentId".into(), Value::String(parent.to_string()));
                    out.push(Value::Object(child));
                    out.extend(grandchildren);
                }
            }
            Below::Inline { shape, .. } => match object.get_mut(key) {
                Some(Value::Object(inner)) => take_children(inner, shape, parent, out)?,
                Some(Value::Array(items)) => {
                    for item in items {
                        if let Value::Object(inner) = item {
                            take_children(inner, shape, parent, out)?;
                        }
                    }
                }
                _ => {}
            },
        }
    }
    Ok(())
}
