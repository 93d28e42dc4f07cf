//! Projection: turn a resolved value tree into exactly what the client selected.
//!
//! Resolvers (in `exec`) describe resources as `serde_json::Value` trees that use the schema's
//! field names. The projector walks the client's selection set over such a tree — generically,
//! for every type — and produces the response: aliases become keys, fragments (named and
//! inline, with type conditions) are merged in, `__typename` is answered, `@skip`/`@include`
//! are honoured, plain lists are cut to `first`, connections are paginated, and a null in a
//! non-null position propagates to the nearest nullable parent as the GraphQL spec says.
//!
//! Trees would be infinite if they held every relation (an order's customer's orders…), so a
//! tree may hold markers that the projector expands only when the selection goes there. The
//! markers' names start with `__`, which GraphQL reserves, so they never clash with a field:
//! - `{"__ref": "gid://shopify/Location/5"}` — another resource, resolved through [`Resolve`];
//! - `{"__connection": [node, …]}` — a whole list, paginated here with the field's arguments;
//! - `{"__page": {"edges": [{"cursor", "node"}], "hasNextPage", "hasPreviousPage"}}` — a page
//!   a root resolver already cut (it filtered and sorted with its own keys);
//! - `"__typename"` on every object, for `__typename` and fragment type conditions.
//!
//! Fields whose value depends on their arguments (`quantities(names:)`) or that are too costly
//! to build eagerly (`Location.inventoryLevels`) come from [`Resolve::resolve_field`].
//!
//! The output is apollo-compiler's JSON value (an ordered map), so response keys come in the
//! order the client asked for them.

use apollo_compiler::ast::Type;
use apollo_compiler::executable::{Field, Selection, SelectionSet};
use apollo_compiler::response::{GraphQLError, JsonMap, JsonValue};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{ExecutableDocument, Node, Schema};
use serde_json::{Map, Value};

use super::document::{PathSegment, arguments, error_at, included, path_segments};
use super::pagination::{PageArgs, SortValue, paginate};

/// The response JSON type (ordered).
pub type Out = JsonValue;

pub const TYPENAME: &str = "__typename";
pub const REF: &str = "__ref";
pub const CONNECTION: &str = "__connection";
pub const PAGE: &str = "__page";

/// A reference marker for a resource.
pub fn reference(key: impl Into<String>) -> Value {
    let mut m = Map::new();
    m.insert(REF.to_string(), Value::String(key.into()));
    Value::Object(m)
}

/// A whole-list connection marker.
pub fn connection(nodes: Vec<Value>) -> Value {
    let mut m = Map::new();
    m.insert(CONNECTION.to_string(), Value::Array(nodes));
    Value::Object(m)
}

/// Lookups the projector needs from the data source.
pub trait Resolve {
    /// The tree behind a `__ref` key; `None` when it no longer exists (→ `null`).
    fn resolve_ref(&self, key: &str) -> Option<Value>;

    /// A field computed from its arguments or on demand; `None` to read the tree instead.
    /// `Err` is a field error (the field becomes null, the message goes to `errors`).
    fn resolve_field(
        &self,
        typename: &str,
        parent: &Map<String, Value>,
        field: &str,
        args: &Map<String, Value>,
    ) -> Option<Result<Value, String>>;
}

/// A non-null field turned out null: the parent must become null too.
#[derive(Debug)]
pub struct Bubble;

/// Walks selections over value trees.
pub struct Projector<'a> {
    pub schema: &'a Schema,
    pub document: &'a ExecutableDocument,
    pub variables: &'a Map<String, Value>,
    pub resolver: &'a dyn Resolve,
    /// Field errors met so far, with their paths.
    pub errors: Vec<GraphQLError>,
    /// A bulk query's projection: nested connections are read whole, as a bulk operation
    /// reads them (their `first`/`last` are neither needed nor honoured).
    pub whole_connections: bool,
}

/// Fields of a selection grouped by response key, in first-seen order (GraphQL's
/// CollectFields): several entries under one key are merged.
pub type FieldGroups = Vec<(String, Vec<Node<Field>>)>;

impl<'a> Projector<'a> {
    pub fn new(
        schema: &'a Schema,
        document: &'a ExecutableDocument,
        variables: &'a Map<String, Value>,
        resolver: &'a dyn Resolve,
    ) -> Projector<'a> {
        Projector {
            schema,
            document,
            variables,
            resolver,
            errors: Vec::new(),
            whole_connections: false,
        }
    }

    /// Group the fields selected on an object of type `typename` by response key.
    pub fn collect(&self, sets: &[&SelectionSet], typename: &str) -> FieldGroups {
        let mut groups: FieldGroups = Vec::new();
        for set in sets {
            self.collect_into(set, typename, &mut groups);
        }
        groups
    }

    fn collect_into(&self, set: &SelectionSet, typename: &str, groups: &mut FieldGroups) {
        for selection in &set.selections {
            match selection {
                Selection::Field(f) => {
                    if !included(&f.directives, self.variables) {
                        continue;
                    }
                    let key = f.response_key().to_string();
                    match groups.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, fields)) => fields.push(f.clone()),
                        None => groups.push((key, vec![f.clone()])),
                    }
                }
                Selection::InlineFragment(frag) => {
                    if !included(&frag.directives, self.variables) {
                        continue;
                    }
                    let applies = frag
                        .type_condition
                        .as_ref()
                        .is_none_or(|c| self.applies(c.as_str(), typename));
                    if applies {
                        self.collect_into(&frag.selection_set, typename, groups);
                    }
                }
                Selection::FragmentSpread(spread) => {
                    if !included(&spread.directives, self.variables) {
                        continue;
                    }
                    if let Some(fragment) = self.document.fragments.get(&spread.fragment_name)
                        && self.applies(fragment.selection_set.ty.as_str(), typename)
                    {
                        self.collect_into(&fragment.selection_set, typename, groups);
                    }
                }
            }
        }
    }

    /// Whether a fragment on `condition` applies to an object of type `typename`.
    fn applies(&self, condition: &str, typename: &str) -> bool {
        condition == typename || self.schema.is_subtype(condition, typename)
    }

    /// Complete a value of type `ty` for the merged `fields` at `path`.
    pub fn complete(
        &mut self,
        ty: &Type,
        fields: &[Node<Field>],
        value: Value,
        path: &mut Vec<PathSegment>,
    ) -> Result<Out, Bubble> {
        let value = self.dereference(value);
        if value.is_null() {
            return null_for(ty);
        }
        match ty {
            Type::List(inner) | Type::NonNullList(inner) => {
                let mut items = match value {
                    Value::Array(items) => items,
                    // A connection marker where a plain list is declared: its nodes.
                    Value::Object(mut m) if m.contains_key(CONNECTION) => {
                        match m.remove(CONNECTION) {
                            Some(Value::Array(items)) => items,
                            _ => Vec::new(),
                        }
                    }
                    other => vec![other],
                };
                // Plain lists with a `first` argument (`Order.fulfillments(first:)`) are cut.
                if let Some(first) = fields
                    .first()
                    .and_then(|f| super::document::int_argument(f, "first", self.variables))
                {
                    items.truncate(first.max(0) as usize);
                }
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    path.push(PathSegment::Index(i));
                    let done = self.complete(inner, fields, item, path);
                    path.pop();
                    match done {
                        Ok(v) => out.push(v),
                        Err(Bubble) => return null_for(ty),
                    }
                }
                Ok(JsonValue::Array(out))
            }
            Type::Named(name) | Type::NonNullNamed(name) => {
                match self.schema.types.get(name.as_str()) {
                    Some(
                        ExtendedType::Object(_)
                        | ExtendedType::Interface(_)
                        | ExtendedType::Union(_),
                    ) => {
                        let object = match value {
                            Value::Object(m) => m,
                            _ => return null_for(ty),
                        };
                        let object =
                            match self.expand_connection(name.as_str(), fields, object, path) {
                                Ok(o) => o,
                                Err(()) => return null_for(ty),
                            };
                        let typename = object
                            .get(TYPENAME)
                            .and_then(|t| t.as_str())
                            .map(str::to_string)
                            .unwrap_or_else(|| name.to_string());
                        self.project_object(&typename, fields, &object, path)
                            .or_else(|Bubble| null_for(ty))
                    }
                    // Scalars and enums pass through as the tree holds them.
                    _ => Ok(JsonValue::from(value)),
                }
            }
        }
    }

    /// Project the sub-selections of `fields` over one object.
    pub fn project_object(
        &mut self,
        typename: &str,
        fields: &[Node<Field>],
        object: &Map<String, Value>,
        path: &mut Vec<PathSegment>,
    ) -> Result<Out, Bubble> {
        let sets: Vec<&SelectionSet> = fields.iter().map(|f| &f.selection_set).collect();
        let groups = self.collect(&sets, typename);
        let mut out = JsonMap::new();
        for (key, group) in groups {
            path.push(PathSegment::Key(key.clone()));
            let value = self.field_value(typename, object, &group, path);
            path.pop();
            out.insert(key.as_str(), value?);
        }
        Ok(JsonValue::Object(out))
    }

    /// One field of an object: from a resolver hook or the tree, then completed.
    fn field_value(
        &mut self,
        typename: &str,
        object: &Map<String, Value>,
        group: &[Node<Field>],
        path: &mut Vec<PathSegment>,
    ) -> Result<Out, Bubble> {
        let Some(field) = group.first() else {
            return Ok(JsonValue::Null);
        };
        let name = field.name.as_str();
        if name == TYPENAME {
            return Ok(JsonValue::from(typename));
        }
        let ty = &field.definition.ty;
        let args = arguments(field, self.variables);
        let raw = match self.resolver.resolve_field(typename, object, name, &args) {
            Some(Ok(v)) => Some(v),
            Some(Err(message)) => {
                self.field_error(field, path, message, "BAD_REQUEST");
                return null_for(ty);
            }
            None => object.get(name).cloned(),
        };
        let Some(raw) = raw else {
            self.field_error(
                field,
                path,
                format!("xconnector simulator does not implement field {typename}.{name}"),
                "NOT_IMPLEMENTED",
            );
            return null_for(ty);
        };
        let raw = self.dereference(raw);
        if raw.is_null() && ty.is_non_null() {
            self.field_error(
                field,
                path,
                format!("Cannot return null for non-nullable field {typename}.{name}"),
                "INTERNAL_SERVER_ERROR",
            );
            return Err(Bubble);
        }
        self.complete(ty, group, raw, path)
    }

    /// Resolve `__ref` markers (possibly chained); a dangling reference is null.
    fn dereference(&self, mut value: Value) -> Value {
        for _ in 0..8 {
            let key = match &value {
                Value::Object(m) if m.len() == 1 => match m.get(REF) {
                    Some(Value::String(k)) => k.clone(),
                    _ => return value,
                },
                _ => return value,
            };
            value = self.resolver.resolve_ref(&key).unwrap_or(Value::Null);
        }
        value
    }

    /// Turn `__connection`/`__page` markers into the connection object
    /// (`edges { cursor node }`, `nodes`, `pageInfo`); other objects pass through.
    fn expand_connection(
        &mut self,
        type_name: &str,
        fields: &[Node<Field>],
        mut object: Map<String, Value>,
        path: &[PathSegment],
    ) -> Result<Map<String, Value>, ()> {
        let (edges, has_next, has_previous) = if let Some(list) = object.remove(CONNECTION) {
            let nodes = match list {
                Value::Array(nodes) => nodes,
                _ => Vec::new(),
            };
            let args = fields
                .first()
                .map(|f| arguments(f, self.variables))
                .unwrap_or_default();
            let page_args = match PageArgs::from_args(&args) {
                _ if self.whole_connections => PageArgs {
                    first: Some(nodes.len()),
                    ..PageArgs::default()
                },
                Ok(a) => a,
                Err(message) => {
                    if let Some(f) = fields.first() {
                        self.field_error(f, path, message, "BAD_REQUEST");
                    }
                    return Err(());
                }
            };
            // Position in the list is the sort key of nested connections.
            let keyed = nodes
                .into_iter()
                .enumerate()
                .map(|(i, n)| ((SortValue::Int(i as i64), i as u64), n))
                .collect();
            match paginate(keyed, &page_args) {
                Ok(page) => (
                    page.edges
                        .into_iter()
                        .map(|(c, n)| (Value::String(c), n))
                        .collect::<Vec<_>>(),
                    page.has_next_page,
                    page.has_previous_page,
                ),
                Err(message) => {
                    if let Some(f) = fields.first() {
                        self.field_error(f, path, message, "BAD_REQUEST");
                    }
                    return Err(());
                }
            }
        } else if let Some(Value::Object(mut page)) = object.remove(PAGE) {
            let edges = match page.remove("edges") {
                Some(Value::Array(edges)) => edges
                    .into_iter()
                    .map(|mut e| {
                        let cursor = e.get_mut("cursor").map(Value::take).unwrap_or(Value::Null);
                        let node = e.get_mut("node").map(Value::take).unwrap_or(Value::Null);
                        (cursor, node)
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let flag = |k: &str| page.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
            (edges, flag("hasNextPage"), flag("hasPreviousPage"))
        } else {
            return Ok(object);
        };
        let edge_type = self.field_type_name(type_name, "edges").unwrap_or_default();
        let start_cursor = edges.first().map(|(c, _)| c.clone()).unwrap_or(Value::Null);
        let end_cursor = edges.last().map(|(c, _)| c.clone()).unwrap_or(Value::Null);
        let nodes: Vec<Value> = edges.iter().map(|(_, n)| n.clone()).collect();
        let edges: Vec<Value> = edges
            .into_iter()
            .map(|(cursor, node)| {
                let mut e = Map::new();
                e.insert(TYPENAME.into(), Value::String(edge_type.clone()));
                e.insert("cursor".into(), cursor);
                e.insert("node".into(), node);
                Value::Object(e)
            })
            .collect();
        let mut page_info = Map::new();
        page_info.insert(TYPENAME.into(), "PageInfo".into());
        page_info.insert("hasNextPage".into(), has_next.into());
        page_info.insert("hasPreviousPage".into(), has_previous.into());
        page_info.insert("startCursor".into(), start_cursor);
        page_info.insert("endCursor".into(), end_cursor);
        let mut out = Map::new();
        out.insert(TYPENAME.into(), Value::String(type_name.to_string()));
        out.insert("edges".into(), Value::Array(edges));
        out.insert("nodes".into(), Value::Array(nodes));
        out.insert("pageInfo".into(), Value::Object(page_info));
        Ok(out)
    }

    /// The named type of `type_name.field` in the schema.
    fn field_type_name(&self, type_name: &str, field: &str) -> Option<String> {
        let object = self.schema.get_object(type_name)?;
        let def = object.fields.get(field)?;
        Some(def.ty.inner_named_type().to_string())
    }

    fn field_error(
        &mut self,
        field: &Node<Field>,
        path: &[PathSegment],
        message: String,
        code: &str,
    ) {
        let mut error = error_at(message, field.location(), &self.document.sources, code);
        error.path = path_segments(path);
        self.errors.push(error);
    }
}

/// Null where allowed; a [`Bubble`] where the type is non-null.
fn null_for(ty: &Type) -> Result<Out, Bubble> {
    if ty.is_non_null() {
        Err(Bubble)
    } else {
        Ok(JsonValue::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::admin_schema;
    use apollo_compiler::executable::Selection;
    use serde_json::json;

    /// A resolver over a fixed set of references.
    struct Fixed(Map<String, Value>);

    impl Resolve for Fixed {
        fn resolve_ref(&self, key: &str) -> Option<Value> {
            self.0.get(key).cloned()
        }
        fn resolve_field(
            &self,
            typename: &str,
            _parent: &Map<String, Value>,
            field: &str,
            args: &Map<String, Value>,
        ) -> Option<Result<Value, String>> {
            (typename == "InventoryLevel" && field == "quantities").then(|| {
                let names = args["names"].as_array().cloned().unwrap_or_default();
                Ok(Value::Array(
                    names
                        .into_iter()
                        .map(|n| json!({"__typename": "InventoryQuantity", "name": n, "quantity": 7}))
                        .collect(),
                ))
            })
        }
    }

    /// Project `tree` as the value of the query's first root field.
    fn project(query: &str, tree: Value, refs: Value) -> (Out, Vec<GraphQLError>) {
        let schema = admin_schema();
        let doc =
            apollo_compiler::ExecutableDocument::parse_and_validate(schema, query, "q.graphql")
                .unwrap_or_else(|e| panic!("{}", e.errors));
        let op = doc.operations.get(None).unwrap();
        let Selection::Field(root) = &op.selection_set.selections[0] else {
            panic!()
        };
        let resolver = Fixed(refs.as_object().cloned().unwrap_or_default());
        let variables = Map::new();
        let mut projector = Projector::new(schema, &doc, &variables, &resolver);
        let mut path = vec![PathSegment::Key(root.response_key().to_string())];
        let out = projector
            .complete(
                &root.definition.ty,
                std::slice::from_ref(root),
                tree,
                &mut path,
            )
            .unwrap_or(JsonValue::Null);
        (out, projector.errors)
    }

    fn to_json(out: &Out) -> Value {
        serde_json::to_value(out).unwrap()
    }

    #[test]
    fn aliases_fragments_and_typename() {
        let order = json!({"__typename": "Order", "id": "gid://shopify/Order/1", "name": "#1001",
            "email": "a@example.com", "customer": {"__ref": "c1"}});
        let refs = json!({"c1": {"__typename": "Customer", "id": "gid://shopify/Customer/9", "firstName": "Ada"}});
        let query = r#"query { order(id: "gid://shopify/Order/1") {
            number: name
            ...Contact
            ... on Order { kind: __typename }
            customer { ... on Customer { firstName } }
        }}
        fragment Contact on Order { email id }"#;
        let (out, errors) = project(query, order, refs);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r##"{"number":"#1001","email":"a@example.com","id":"gid://shopify/Order/1","kind":"Order","customer":{"firstName":"Ada"}}"##,
            "keys come in selection order"
        );
    }

    #[test]
    fn connections_are_paginated_and_arguments_reach_hooks() {
        let item = json!({"__typename": "InventoryItem", "id": "gid://shopify/InventoryItem/1",
            "inventoryLevels": {"__connection": [
                {"__typename": "InventoryLevel", "id": "l1", "location": {"__ref": "loc"}},
                {"__typename": "InventoryLevel", "id": "l2", "location": {"__ref": "loc"}},
                {"__typename": "InventoryLevel", "id": "l3", "location": {"__ref": "loc"}}]}});
        let refs = json!({"loc": {"__typename": "Location", "id": "gid://shopify/Location/5", "name": "Main"}});
        let query = r#"query { inventoryItem(id: "gid://shopify/InventoryItem/1") {
            inventoryLevels(first: 2) {
                edges { cursor node { id location { name } quantities(names: ["available", "on_hand"]) { name quantity } } }
                pageInfo { hasNextPage hasPreviousPage }
            }
            more: inventoryLevels(last: 1) { nodes { id } }
        }}"#;
        let (out, errors) = project(query, item, refs);
        assert!(errors.is_empty(), "{errors:?}");
        let v = to_json(&out);
        let edges = v["inventoryLevels"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 2);
        assert_eq!(edges[1]["node"]["location"]["name"], "Main");
        assert_eq!(
            edges[0]["node"]["quantities"][1],
            json!({"name": "on_hand", "quantity": 7})
        );
        assert!(edges[0]["cursor"].is_string());
        assert_eq!(
            v["inventoryLevels"]["pageInfo"],
            json!({"hasNextPage": true, "hasPreviousPage": false})
        );
        assert_eq!(v["more"]["nodes"], json!([{"id": "l3"}]));
    }

    #[test]
    fn missing_non_null_fields_null_the_parent_and_name_the_field() {
        let order = json!({"__typename": "Order", "id": "gid://shopify/Order/1"});
        let (out, errors) = project(r#"query { order(id: "x") { id name } }"#, order, json!({}));
        assert_eq!(
            out,
            JsonValue::Null,
            "Order.name is non-null, order is nullable"
        );
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].message.contains("Order.name"),
            "{}",
            errors[0].message
        );
        let path = serde_json::to_value(&errors[0].path).unwrap();
        assert_eq!(path, json!(["order", "name"]));
    }

    #[test]
    fn connections_need_first_or_last() {
        let item = json!({"__typename": "InventoryItem", "inventoryLevels": {"__connection": []}});
        let (out, errors) = project(
            r#"query { inventoryItem(id: "x") { inventoryLevels { nodes { id } } } }"#,
            item,
            json!({}),
        );
        assert_eq!(out, JsonValue::Null);
        assert_eq!(errors[0].message, "you must provide one of first or last");
    }
}
