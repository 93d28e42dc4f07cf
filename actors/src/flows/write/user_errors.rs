//! A mutation's `userErrors`, split back onto the inputs they are about.

use std::collections::BTreeMap;

use crate::shopify::UserError;

/// `userErrors` of a call that sent a list of inputs, by input.
#[derive(Debug, Default)]
pub struct UserErrors<'a> {
    /// Errors about one input, by its index in the call.
    pub inputs: BTreeMap<usize, Vec<&'a UserError>>,
    /// Errors about the call as a whole (a bad argument, an idempotency clash), or naming an
    /// input the call did not have: the whole call failed for a reason no input explains.
    pub whole: Vec<&'a UserError>,
}

impl<'a> UserErrors<'a> {
    /// Splits `errors` of a call whose inputs are the list at `list` (the `field` path up to
    /// the index, e.g. `["input", "quantities"]`: an error on `input.quantities.3.quantity` is
    /// about input 3). `inputs` is how many the call sent.
    pub fn split(errors: &'a [UserError], list: &[&str], inputs: usize) -> UserErrors<'a> {
        let mut split = UserErrors::default();
        for e in errors {
            match index_in(&e.field, list) {
                Some(i) if i < inputs => split.inputs.entry(i).or_default().push(e),
                _ => split.whole.push(e),
            }
        }
        split
    }

    /// The whole call's errors as one line, or `None` when every error is about an input.
    pub fn whole_reason(&self) -> Option<String> {
        (!self.whole.is_empty()).then(|| {
            self.whole
                .iter()
                .map(|e| text(e))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }
}

/// An error as a person reads it: Shopify's message, and its code when it has one.
pub fn text(e: &UserError) -> String {
    match &e.code {
        Some(code) => format!("{} ({code})", e.message),
        None => e.message.clone(),
    }
}

/// The index after `list` in `field`, when `field` starts with `list`.
fn index_in(field: &[String], list: &[&str]) -> Option<usize> {
    let starts = field.len() > list.len() && field.iter().zip(list).all(|(f, l)| f == l);
    if !starts {
        return None;
    }
    field[list.len()].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(field: &[&str], code: Option<&str>) -> UserError {
        UserError {
            field: field.iter().map(|s| s.to_string()).collect(),
            message: "refused".into(),
            code: code.map(str::to_string),
        }
    }

    #[test]
    fn errors_go_to_their_input_and_the_rest_to_the_whole_call() {
        let errors = [
            error(
                &["input", "quantities", "3", "changeFromQuantity"],
                Some("STALE"),
            ),
            error(&["input", "quantities", "0"], None),
            error(&["input", "quantities", "3", "quantity"], None),
            error(&["input", "reason"], Some("INVALID_REASON")),
            error(&["input", "quantities", "9"], None), // the call had 4 inputs
            error(&[], None),
        ];
        let split = UserErrors::split(&errors, &["input", "quantities"], 4);
        assert_eq!(split.inputs.keys().copied().collect::<Vec<_>>(), [0, 3]);
        assert_eq!(split.inputs[&3].len(), 2);
        assert_eq!(split.whole.len(), 3);
        assert_eq!(
            split.whole_reason().unwrap(),
            "refused (INVALID_REASON); refused; refused"
        );
        let fine = UserErrors::split(&errors[..3], &["input", "quantities"], 4);
        assert_eq!(fine.whole_reason(), None);
    }
}
