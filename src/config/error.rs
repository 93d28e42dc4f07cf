//! The errors `load` and `parse` return: one per problem, each with file, line and key path.

use std::fmt;

/// One problem in a configuration file.
///
/// Displays as `{file}:{line}: {path}: {message}`; `:{line}` is left out when the
/// line is unknown (e.g. the file could not be read) and `{path}: ` when the
/// problem is not about one key (e.g. a TOML syntax error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// 1-based.
    pub line: Option<usize>,
    /// Dotted key path, arrays as `server.api_tokens[0]`; empty when not about a key.
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        f.write_str(": ")?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in one pass, sorted by line. Never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, error) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// 1-based line of a byte offset. Offsets past the end count as the last line.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(line: Option<usize>, path: &str) -> ConfigError {
        ConfigError {
            file: "config.toml".into(),
            line,
            path: path.into(),
            message: "boom".into(),
        }
    }

    #[test]
    fn display_formats() {
        assert_eq!(
            err(Some(3), "server.lisen").to_string(),
            "config.toml:3: server.lisen: boom"
        );
        assert_eq!(
            err(None, "server.lisen").to_string(),
            "config.toml: server.lisen: boom"
        );
        assert_eq!(err(Some(3), "").to_string(), "config.toml:3: boom");
        assert_eq!(err(None, "").to_string(), "config.toml: boom");
        let all = ConfigErrors(vec![err(Some(1), "a"), err(Some(2), "b")]);
        assert_eq!(
            all.to_string(),
            "config.toml:1: a: boom\nconfig.toml:2: b: boom"
        );
    }

    #[test]
    fn line_numbers() {
        let text = "a\nb\nc";
        assert_eq!(line_of(text, 0), 1);
        assert_eq!(line_of(text, 2), 2);
        assert_eq!(line_of(text, 4), 3);
        assert_eq!(line_of(text, 999), 3);
    }
}
