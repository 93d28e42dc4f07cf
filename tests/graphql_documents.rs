//! Every GraphQL document the Shopify client sends is valid against Shopify's published Admin
//! schema (the pinned version) and uses nothing deprecated: no deprecated field, argument,
//! enum value or input field, in any selection, fragment or literal.

use apollo_compiler::ExecutableDocument;
use apollo_compiler::Schema;
use apollo_compiler::ast::DirectiveList;
use apollo_compiler::ast::{Type, Value};
use apollo_compiler::executable::{Selection, SelectionSet};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use xconnector::shopify_schema::admin_schema;
use xconnector_actors::shopify::operations::all_documents;

/// Validation errors and uses of deprecated schema elements in `text`, one line each.
fn problems(schema: &Valid<Schema>, name: &str, text: &str) -> Vec<String> {
    let doc = match ExecutableDocument::parse_and_validate(schema, text, format!("{name}.graphql"))
    {
        Ok(doc) => doc,
        Err(e) => return vec![e.errors.to_string()],
    };
    let mut found = Vec::new();
    let named: Vec<_> = doc.operations.iter().collect();
    if named.len() != 1 || named[0].name.as_deref() != Some(name) {
        found.push(format!(
            "{name}: the document must hold exactly one operation, named {name}"
        ));
    }
    for op in doc.operations.iter() {
        walk(schema, &op.selection_set, name, &mut found);
    }
    for fragment in doc.fragments.values() {
        walk(schema, &fragment.selection_set, name, &mut found);
    }
    found
}

fn deprecation(directives: &DirectiveList) -> Option<String> {
    let d = directives.get("deprecated")?;
    Some(
        d.specified_argument_by_name("reason")
            .and_then(|v| v.as_str())
            .unwrap_or("no reason given")
            .to_string(),
    )
}

fn walk(schema: &Schema, set: &SelectionSet, doc: &str, found: &mut Vec<String>) {
    for selection in &set.selections {
        match selection {
            Selection::Field(field) => {
                let def = &field.definition;
                let at = format!("{doc}: {}.{}", set.ty, field.name);
                if let Some(reason) = deprecation(&def.directives) {
                    found.push(format!("{at} is deprecated: {reason}"));
                }
                for arg in &field.arguments {
                    let Some(arg_def) = def.arguments.iter().find(|a| a.name == arg.name) else {
                        continue;
                    };
                    if let Some(reason) = deprecation(&arg_def.directives) {
                        found.push(format!("{at}({}:) is deprecated: {reason}", arg.name));
                    }
                    literal(schema, &arg.value, &arg_def.ty, &at, found);
                }
                walk(schema, &field.selection_set, doc, found);
            }
            Selection::InlineFragment(inline) => walk(schema, &inline.selection_set, doc, found),
            // Named fragments are walked once, from the document's fragment list.
            Selection::FragmentSpread(_) => {}
        }
    }
}

/// Deprecated enum values and input fields inside a literal argument value.
fn literal(schema: &Schema, value: &Value, ty: &Type, at: &str, found: &mut Vec<String>) {
    match value {
        Value::List(items) => {
            let inner = match ty {
                Type::List(inner) | Type::NonNullList(inner) => inner.as_ref(),
                other => other,
            };
            for item in items {
                literal(schema, item, inner, at, found);
            }
        }
        Value::Enum(name) => {
            if let Some(ExtendedType::Enum(e)) = schema.types.get(ty.inner_named_type())
                && let Some(reason) = e.values.get(name).and_then(|v| deprecation(&v.directives))
            {
                found.push(format!("{at}: enum value {name} is deprecated: {reason}"));
            }
        }
        Value::Object(fields) => {
            if let Some(ExtendedType::InputObject(obj)) = schema.types.get(ty.inner_named_type()) {
                for (name, v) in fields {
                    if let Some(def) = obj.fields.get(name) {
                        if let Some(reason) = deprecation(&def.directives) {
                            found.push(format!(
                                "{at}: input field {}.{name} is deprecated: {reason}",
                                obj.name
                            ));
                        }
                        literal(schema, v, &def.ty, at, found);
                    }
                }
            }
        }
        _ => {}
    }
}

#[test]
fn every_document_is_valid_and_uses_nothing_deprecated() {
    let schema = admin_schema();
    let documents = all_documents();
    assert!(documents.len() >= 8, "the operations are all listed");
    let mut all = Vec::new();
    for (name, text) in documents {
        all.extend(problems(schema, name, text));
    }
    assert!(all.is_empty(), "\n{}", all.join("\n"));
}

#[test]
fn the_check_catches_unknown_and_deprecated_fields() {
    let schema = admin_schema();

    let unknown = "query Bad { shop { bogusField } }";
    let found = problems(schema, "Bad", unknown);
    assert!(found.iter().any(|p| p.contains("bogusField")), "{found:?}");

    // Customer.email is deprecated in 2026-10 (use defaultEmailAddress.emailAddress).
    let deprecated = "query Old($id: ID!) { customer(id: $id) { id email } }";
    let found = problems(schema, "Old", deprecated);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("Customer.email is deprecated"),
        "{found:?}"
    );

    // So is the callbackUrl argument of webhookSubscriptions, and inside a fragment too.
    let deprecated_arg = r#"query OldArg { webhookSubscriptions(first: 1, callbackUrl: "https://x.example") { nodes { ...F } } }
        fragment F on WebhookSubscription { id callbackUrl }"#;
    let found = problems(schema, "OldArg", deprecated_arg);
    assert!(
        found
            .iter()
            .any(|p| p.contains("(callbackUrl:) is deprecated")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("WebhookSubscription.callbackUrl is deprecated")),
        "{found:?}"
    );

    // An input field in a literal.
    let deprecated_input = r#"mutation OldInput { webhookSubscriptionCreate(topic: ORDERS_CREATE, webhookSubscription: {callbackUrl: "https://x.example"}) { userErrors { message } } }"#;
    let found = problems(schema, "OldInput", deprecated_input);
    assert!(
        found
            .iter()
            .any(|p| p.contains("input field WebhookSubscriptionInput.callbackUrl is deprecated")),
        "{found:?}"
    );
}
