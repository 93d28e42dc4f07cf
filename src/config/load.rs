//! `load` and `parse`: text → syntax check → `${VAR}` substitution → typed
//! deserialization (collecting every error) → semantic checks → sorted report.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{ConfigError, ConfigErrors, line_of};
use super::flows::Registry;
use super::types::Config;
use super::{de, env, validate};
use xconnector_actors::config::{KeyPath, Seg};

/// Beyond this many problems the file is probably not a config at all; stop there.
const MAX_ERRORS: usize = 100;

/// Read and parse the file at `path`, taking `${VAR}`s from the process environment.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let file = path.display().to_string();
    let fail = |line, message: String| {
        ConfigErrors(vec![ConfigError {
            file: file.clone(),
            line,
            path: String::new(),
            message,
        }])
    };
    let bytes = std::fs::read(path)
        .map_err(|e| fail(None, format!("cannot read the configuration file: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..valid]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        fail(Some(line), "the file is not valid UTF-8".to_owned())
    })?;
    // A variable that is set but not valid Unicode is treated as unset: it could
    // not be put into a TOML string anyway.
    parse(&text, &file, &|name| std::env::var(name).ok())
}

/// Parse configuration `text`; `file` is only used in messages, `env` resolves `${VAR}`.
pub fn parse(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    parse_with(&Registry::standard(), text, file, env)
}

/// [`parse`] with the flows of `registry`.
pub fn parse_with(
    registry: &Registry,
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let mut report = Report {
        file,
        text,
        errors: Vec::new(),
    };

    let (table, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        // The recovered tree is a guess; checking it would add noise, not information.
        for error in syntax_errors.iter().take(MAX_ERRORS) {
            report.push(&KeyPath::root(), error.span(), error.message().to_owned());
        }
        return Err(report.finish());
    }
    let mut root = Spanned::new(table.span(), DeValue::Table(table.into_inner()));

    let mut env_problems = Vec::new();
    let mut tainted = Vec::new();
    env::substitute(
        &mut root,
        &KeyPath::root(),
        env,
        &mut env_problems,
        &mut tainted,
    );
    for problem in env_problems {
        report.push(&problem.path, Some(problem.span), problem.message);
    }

    let mut outcome = de::deserialize::<Config>(&root, MAX_ERRORS);
    let flows = registry.load(&root, MAX_ERRORS);
    outcome.errors.extend(flows.errors);
    outcome.skipped.extend(flows.skipped);
    for error in &outcome.errors {
        let path = error.display_path();
        if !is_under(&path, &tainted) {
            report.push(&path, error.span.clone(), error.to_string());
        }
    }
    if outcome.truncated {
        report.push(
            &KeyPath::root(),
            None,
            format!("too many errors; stopped after {MAX_ERRORS}"),
        );
    }

    let Some(mut config) = outcome.value else {
        // Recovery gives up only after reporting why; this backstop keeps `Err`
        // from ever being empty.
        if report.errors.is_empty() {
            report.push(
                &KeyPath::root(),
                None,
                "the configuration could not be read".to_owned(),
            );
        }
        return Err(report.finish());
    };

    config.flows = flows.flows;
    let shopify = config.shopify.is_some();
    let flow_problems = config.flows.check(shopify, &endpoint_names(&root));
    for issue in validate::validate(&config)
        .into_iter()
        .chain(flow_problems.into_vec())
    {
        // Values that were skipped or only partly substituted hold stand-ins, and the
        // real problem has been reported already.
        if is_under(&issue.path, tainted.iter().chain(&outcome.skipped)) {
            continue;
        }
        let span = issue
            .at
            .iter()
            .find_map(|at| locate_exact(&root, at))
            .unwrap_or_else(|| locate(&root, &issue.path));
        report.push(&issue.path, Some(span), issue.message);
    }

    if report.errors.is_empty() {
        Ok(config)
    } else {
        Err(report.finish())
    }
}

/// True when `path` is one of `prefixes` or lies inside one of them.
fn is_under<'p>(path: &KeyPath, prefixes: impl IntoIterator<Item = &'p KeyPath>) -> bool {
    prefixes.into_iter().any(|prefix| path.starts_with(prefix))
}

struct Report<'a> {
    file: &'a str,
    text: &'a str,
    errors: Vec<ConfigError>,
}

impl Report<'_> {
    fn push(&mut self, path: &KeyPath, span: Option<Range<usize>>, message: String) {
        self.errors.push(ConfigError {
            file: self.file.to_owned(),
            line: span.map(|s| line_of(self.text, s.start)),
            path: path.to_string(),
            message,
        });
    }

    fn finish(mut self) -> ConfigErrors {
        // Stable: problems on one line keep the order they were found in. Problems
        // without a line ("too many errors") go last.
        self.errors.sort_by_key(|e| e.line.unwrap_or(usize::MAX));
        self.errors.dedup();
        ConfigErrors(self.errors)
    }
}

/// The deepest node on `path` that the file has, and whether that is all of `path`.
fn walk<'a, 'i>(
    root: &'a Spanned<DeValue<'i>>,
    path: &KeyPath,
) -> (&'a Spanned<DeValue<'i>>, bool) {
    let mut node = root;
    for seg in path.segments() {
        let next = match (seg, node.get_ref()) {
            (Seg::Key(key), DeValue::Table(table)) => table.get(key.as_str()),
            (Seg::Index(i), DeValue::Array(items)) => items.get(*i),
            _ => None,
        };
        match next {
            Some(next) => node = next,
            None => return (node, false),
        }
    }
    (node, true)
}

/// The span of the value at `path`, or of its nearest ancestor present in the file
/// (a defaulted key has no line of its own; its table's header is the next best).
fn locate(root: &Spanned<DeValue<'_>>, path: &KeyPath) -> Range<usize> {
    walk(root, path).0.span()
}

/// The span of the value at `path`, only if the file sets it.
fn locate_exact(root: &Spanned<DeValue<'_>>, path: &KeyPath) -> Option<Range<usize>> {
    match walk(root, path) {
        (node, true) => Some(node.span()),
        (_, false) => None,
    }
}

fn endpoint_names(root: &Spanned<DeValue<'_>>) -> BTreeSet<String> {
    match root.get_ref().get("endpoints").map(|e| e.get_ref()) {
        Some(DeValue::Table(table)) => table.keys().map(|k| k.get_ref().to_string()).collect(),
        _ => BTreeSet::new(),
    }
}
