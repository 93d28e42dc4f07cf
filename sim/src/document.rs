//! From request text to something executable: parse and validate the document against
//! Shopify's schema, pick the operation, coerce the variables, and read argument and directive
//! values with variables substituted. Every failure becomes a GraphQL error shaped like
//! Shopify's (`message`, `locations`, `extensions.code`).
//!
//! Nothing here looks at document text: apollo-compiler parses and validates, and this module
//! reads its typed result.

use apollo_compiler::ExecutableDocument;
use apollo_compiler::Node;
use apollo_compiler::ast;
use apollo_compiler::executable::{DirectiveList, Field, Operation};
use apollo_compiler::parser::{SourceMap, SourceSpan};
use apollo_compiler::response::{GraphQLError, JsonMap, JsonValue, ResponseDataPathSegment};
use apollo_compiler::validation::Valid;
use serde_json::{Map, Value};

use crate::schema::admin_schema;

/// The three parts of a GraphQL request body.
#[derive(Clone, Debug, Default)]
pub struct GraphqlRequest {
    pub query: String,
    pub variables: Map<String, Value>,
    pub operation_name: Option<String>,
}

/// A validated document with the operation to run and its coerced variables.
#[derive(Debug)]
pub struct Prepared {
    pub document: Valid<ExecutableDocument>,
    pub operation: Node<Operation>,
    /// Coerced variable values; a variable the client did not send (and that has no default)
    /// is absent, which is not the same as `null` (see `changeFromQuantity`).
    pub variables: Map<String, Value>,
}

impl Prepared {
    pub fn is_mutation(&self) -> bool {
        self.operation.operation_type == ast::OperationType::Mutation
    }
}

/// Parse, validate, select the operation and coerce variables. Errors are request errors: the
/// response has no `data`.
pub fn prepare(request: &GraphqlRequest) -> Result<Prepared, Vec<GraphQLError>> {
    let document = parse(&request.query)?;
    bind(
        document,
        request.operation_name.as_deref(),
        &request.variables,
    )
}

/// Parse and validate a document against the schema.
pub fn parse(query: &str) -> Result<Valid<ExecutableDocument>, Vec<GraphQLError>> {
    ExecutableDocument::parse_and_validate(admin_schema(), query, "request.graphql")
        .map_err(|with_errors| validation_errors(query, &with_errors.errors))
}

/// Pick the operation of a validated document and coerce `variables` for it. Separate from
/// [`parse`] so that a bulk mutation validates its document once and binds it per line.
pub fn bind(
    document: Valid<ExecutableDocument>,
    operation_name: Option<&str>,
    variables: &Map<String, Value>,
) -> Result<Prepared, Vec<GraphQLError>> {
    let schema = admin_schema();
    let operation = match document.operations.get(operation_name) {
        Ok(op) => op.clone(),
        Err(e) => {
            let message = match operation_name {
                Some(name) => format!("No operation named \"{name}\""),
                None if document.operations.iter().next().is_none() => {
                    "No operations in query document".to_string()
                }
                None => "An operation name is required".to_string(),
            };
            let mut error = e.to_graphql_error(&document.sources);
            error.message = message;
            return Err(vec![with_code(error, "OPERATION_NOT_FOUND")]);
        }
    };
    if operation.operation_type == ast::OperationType::Subscription {
        let error = GraphQLError::new(
            "Subscriptions are not supported by the Admin API",
            operation.location(),
            &document.sources,
        );
        return Err(vec![with_code(error, "UNSUPPORTED_OPERATION")]);
    }
    let raw: JsonMap = variables
        .iter()
        .map(|(k, v)| (k.as_str().into(), JsonValue::from(v.clone())))
        .collect();
    let coerced = match apollo_compiler::request::coerce_variable_values(schema, &operation, &raw) {
        Ok(values) => values,
        Err(e) => {
            return Err(vec![with_code(
                e.to_graphql_error(&document.sources),
                "INVALID_VARIABLE",
            )]);
        }
    };
    let variables = match serde_json::to_value(&*coerced) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    Ok(Prepared {
        document,
        operation,
        variables,
    })
}

/// Shopify-style errors for a document that does not parse or validate. Syntax errors are told
/// apart by parsing alone, which only happens on this (failing) path.
fn validation_errors(
    query: &str,
    errors: &apollo_compiler::validation::DiagnosticList,
) -> Vec<GraphQLError> {
    let syntax_only = ast::Document::parse(query, "request.graphql").is_err();
    // apollo-compiler drops an unknown field from the document it builds, so a selection made
    // only of unknown fields is also reported as missing a subselection. Shopify reports the
    // unknown field alone; so do we.
    let has_undefined_field = errors
        .iter()
        .any(|d| d.error.unstable_error_name() == Some("UndefinedField"));
    errors
        .iter()
        .filter(|d| {
            !(has_undefined_field && d.error.unstable_error_name() == Some("MissingSubselection"))
        })
        .map(|diagnostic| {
            let code = if syntax_only {
                "parseError"
            } else {
                diagnostic
                    .error
                    .unstable_error_name()
                    .map_or("validationError", shopify_code)
            };
            with_code(diagnostic.to_json(), code)
        })
        .collect()
}

/// graphql-ruby's error codes (what Shopify returns) for apollo-compiler's validation rules.
fn shopify_code(rule: &str) -> &'static str {
    match rule {
        "UndefinedField" => "undefinedField",
        "UndefinedArgument" => "argumentNotAccepted",
        "RequiredArgument" => "missingRequiredArguments",
        "UndefinedDefinition"
        | "UndefinedTypeInNamedFragmentTypeCondition"
        | "UndefinedTypeInInlineFragmentTypeCondition" => "undefinedType",
        "UndefinedVariable" => "variableNotDefined",
        "UnusedVariable" => "variableNotUsed",
        "UndefinedFragment" => "undefinedFragment",
        "UnusedFragment" => "useAndDefineFragment",
        "MissingSubselection" | "SubselectionOnScalarType" | "SubselectionOnEnumType" => {
            "selectionMismatch"
        }
        "UndefinedEnumValue"
        | "UnsupportedValueType"
        | "IntCoercionError"
        | "FloatCoercionError"
        | "UndefinedInputValue"
        | "RequiredField" => "argumentLiteralsIncompatible",
        "UndefinedDirective" => "undefinedDirective",
        "UnsupportedLocation" => "directiveCannotBeApplied",
        "ConflictingFieldType" | "ConflictingFieldName" | "ConflictingFieldArgument" => {
            "fieldConflict"
        }
        "DisallowedVariableUsage" => "variableMismatch",
        "UniqueArgument" => "argumentUniqueness",
        "UniqueVariable" => "variableNameUniqueness",
        "OperationNameCollision" => "operationNameUniqueness",
        "FragmentNameCollision" => "fragmentNameUniqueness",
        "RecursiveFragmentDefinition" => "infiniteLoop",
        "InvalidFragmentSpread" | "InvalidFragmentTarget" => "fragmentSpreadTypeMismatch",
        "UndefinedRootOperation" => "missingRootType",
        _ => "validationError",
    }
}

/// Add `extensions.code`.
pub fn with_code(mut error: GraphQLError, code: &str) -> GraphQLError {
    error.extensions.insert("code", code.into());
    error
}

/// A new error at a node of the document, with a code.
pub fn error_at(
    message: impl Into<String>,
    location: Option<SourceSpan>,
    sources: &SourceMap,
    code: &str,
) -> GraphQLError {
    with_code(GraphQLError::new(message, location, sources), code)
}

/// A response path (`["orders", "edges", 0, "node"]`) in the error type's form.
pub fn path_segments(path: &[PathSegment]) -> Vec<ResponseDataPathSegment> {
    path.iter()
        .filter_map(|seg| match seg {
            PathSegment::Key(k) => apollo_compiler::Name::new(k)
                .ok()
                .map(ResponseDataPathSegment::Field),
            PathSegment::Index(i) => Some(ResponseDataPathSegment::ListIndex(*i)),
        })
        .collect()
}

/// One step of a response path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

/// The JSON value of a literal or variable; `None` when it refers to a variable the client
/// did not provide (the argument is then absent, not null).
pub fn value_to_json(value: &ast::Value, variables: &Map<String, Value>) -> Option<Value> {
    Some(match value {
        ast::Value::Null => Value::Null,
        ast::Value::Enum(name) => Value::String(name.to_string()),
        ast::Value::Variable(name) => return variables.get(name.as_str()).cloned(),
        ast::Value::String(s) => Value::String(s.clone()),
        ast::Value::Float(f) => f
            .try_to_f64()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        ast::Value::Int(i) => match i.as_str().parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => i
                .try_to_f64()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::Null, Value::Number),
        },
        ast::Value::Boolean(b) => Value::Bool(*b),
        ast::Value::List(items) => Value::Array(
            items
                .iter()
                .map(|v| value_to_json(v, variables).unwrap_or(Value::Null))
                .collect(),
        ),
        ast::Value::Object(fields) => Value::Object(
            fields
                .iter()
                .filter_map(|(k, v)| value_to_json(v, variables).map(|v| (k.to_string(), v)))
                .collect(),
        ),
    })
}

/// A field argument's value: given (with variables substituted) or the schema default; `None`
/// when absent.
pub fn argument(field: &Field, name: &str, variables: &Map<String, Value>) -> Option<Value> {
    let given = field
        .arguments
        .iter()
        .find(|a| a.name == name)
        .and_then(|a| value_to_json(&a.value, variables));
    given.or_else(|| {
        field
            .definition
            .argument_by_name(name)
            .and_then(|d| d.default_value.as_ref())
            .and_then(|v| value_to_json(v, &Map::new()))
    })
}

/// All arguments of a field (given or defaulted), by name.
pub fn arguments(field: &Field, variables: &Map<String, Value>) -> Map<String, Value> {
    field
        .definition
        .arguments
        .iter()
        .filter_map(|def| {
            argument(field, def.name.as_str(), variables).map(|v| (def.name.to_string(), v))
        })
        .collect()
}

/// An argument of a directive on a field, with variables substituted.
pub fn directive_argument(
    directives: &DirectiveList,
    directive: &str,
    name: &str,
    variables: &Map<String, Value>,
) -> Option<Value> {
    directives
        .get(directive)?
        .specified_argument_by_name(name)
        .and_then(|v| value_to_json(v, variables))
}

/// `@skip(if:)` / `@include(if:)`: whether a selection takes part.
pub fn included(directives: &DirectiveList, variables: &Map<String, Value>) -> bool {
    let skip = directive_argument(directives, "skip", "if", variables) == Some(Value::Bool(true));
    let include = directive_argument(directives, "include", "if", variables)
        .is_none_or(|v| v == Value::Bool(true));
    !skip && include
}

/// An integer argument (`first`, `last`), if given.
pub fn int_argument(field: &Field, name: &str, variables: &Map<String, Value>) -> Option<i64> {
    argument(field, name, variables).and_then(|v| v.as_i64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(query: &str, variables: Value) -> GraphqlRequest {
        GraphqlRequest {
            query: query.to_string(),
            variables: variables.as_object().cloned().unwrap_or_default(),
            operation_name: None,
        }
    }

    fn codes(errors: &[GraphQLError]) -> Vec<String> {
        errors
            .iter()
            .map(|e| {
                e.extensions
                    .get("code")
                    .and_then(|c| c.as_str())
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn unknown_fields_are_named_with_a_location_and_code() {
        let errors = prepare(&request("query {\n  shop { bogusField }\n}", json!({}))).unwrap_err();
        assert_eq!(codes(&errors), ["undefinedField"]);
        assert!(
            errors[0].message.contains("bogusField"),
            "{}",
            errors[0].message
        );
        assert_eq!(errors[0].locations[0].line, 2);
        let errors = prepare(&request("query { shop { name }", json!({}))).unwrap_err();
        assert_eq!(codes(&errors)[0], "parseError");
    }

    #[test]
    fn operations_are_chosen_by_name() {
        let doc = "query A { shop { name } } query B { shop { id } }";
        assert!(prepare(&request(doc, json!({}))).is_err());
        let mut req = request(doc, json!({}));
        req.operation_name = Some("B".into());
        assert_eq!(
            prepare(&req)
                .unwrap()
                .operation
                .name
                .as_ref()
                .unwrap()
                .as_str(),
            "B"
        );
        req.operation_name = Some("C".into());
        let errors = prepare(&req).unwrap_err();
        assert_eq!(errors[0].message, "No operation named \"C\"");
    }

    #[test]
    fn variables_are_coerced_and_absent_stays_absent() {
        let doc = r#"mutation M($input: InventorySetQuantitiesInput!, $k: String!) {
            inventorySetQuantities(input: $input) @idempotent(key: $k) { userErrors { code } } }"#;
        let vars = json!({"k": "key-1", "input": {"name": "available", "reason": "correction",
            "quantities": [{"inventoryItemId": "gid://shopify/InventoryItem/1",
                            "locationId": "gid://shopify/Location/2", "quantity": 5}]}});
        let prepared = prepare(&request(doc, vars)).unwrap();
        let field = match &prepared.operation.selection_set.selections[0] {
            apollo_compiler::executable::Selection::Field(f) => f.clone(),
            _ => unreachable!(),
        };
        let input = argument(&field, "input", &prepared.variables).unwrap();
        assert!(input["quantities"][0].get("changeFromQuantity").is_none());
        assert_eq!(
            directive_argument(&field.directives, "idempotent", "key", &prepared.variables),
            Some(json!("key-1"))
        );
        let errors = prepare(&request(doc, json!({"k": "x"}))).unwrap_err();
        assert_eq!(codes(&errors), ["INVALID_VARIABLE"]);
    }
}
