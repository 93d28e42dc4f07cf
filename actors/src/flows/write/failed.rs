//! Why a write did not land, in the two kinds a writer treats differently: worth another try,
//! or for a person.

use crate::flows::Outcome;
use crate::shopify::ShopifyError;
use crate::shopify::error::UserError;

use super::user_error_text;

#[derive(Debug, Clone)]
pub enum Failed {
    /// Worth another try (throttled, unreachable, the store busy).
    Transient(Outcome),
    /// For a person: Shopify refused it, or the record it names does not exist.
    Refused(String),
}

impl Failed {
    pub fn outcome(&self) -> Outcome {
        match self {
            Failed::Transient(o) => o.clone(),
            Failed::Refused(reason) => Outcome::Exception {
                reason: reason.clone(),
            },
        }
    }

    /// A mutation's `userErrors`, as one refusal naming each field and Shopify's message.
    pub fn refused(operation: &str, errors: &[UserError]) -> Failed {
        let text: Vec<String> = errors.iter().map(user_error_text).collect();
        Failed::Refused(format!("shopify: {operation} refused: {}", text.join("; ")))
    }
}

impl From<&ShopifyError> for Failed {
    fn from(e: &ShopifyError) -> Failed {
        match Outcome::from(e) {
            Outcome::Exception { reason } => Failed::Refused(reason),
            other => Failed::Transient(other),
        }
    }
}

impl From<crate::store::StoreError> for Failed {
    fn from(e: crate::store::StoreError) -> Failed {
        Failed::Transient(Outcome::from(e))
    }
}
