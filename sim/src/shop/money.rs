//! Money as exact minor units, rendered the two ways Shopify renders it.

/// An amount in minor units (cents), exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(pub i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub fn cents(self) -> i64 {
        self.0
    }

    /// `"12.30"`: REST payloads and the GraphQL `Money` scalar.
    pub fn to_fixed2(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }

    /// `"12.3"`, `"75.0"`: the GraphQL `Decimal` in `MoneyV2.amount`.
    pub fn to_decimal(self) -> String {
        let fixed = self.to_fixed2();
        match fixed.strip_suffix('0') {
            Some(trimmed) if !trimmed.ends_with('.') => trimmed.to_string(),
            _ => fixed,
        }
    }

    /// Parse `"12"`, `"12.3"`, `"12.30"`, `"-1.5"`; `None` for more than two decimals or junk.
    pub fn parse(text: &str) -> Option<Money> {
        let t = text.trim();
        let (neg, t) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        if whole.is_empty() || frac.len() > 2 || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let whole: i64 = whole.parse().ok()?;
        let frac: i64 = if frac.is_empty() {
            0
        } else if frac.len() == 1 {
            frac.parse::<i64>().ok()? * 10
        } else {
            frac.parse().ok()?
        };
        let cents = whole.checked_mul(100)?.checked_add(frac)?;
        Some(Money(if neg { -cents } else { cents }))
    }

    /// `self × n / 10_000`, rounded half up: tax from a rate in basis points.
    pub fn times_bps(self, bps: u32) -> Money {
        Money((self.0 * i64::from(bps) + 5_000).div_euclid(10_000))
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, o: Money) -> Money {
        Money(self.0 + o.0)
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    fn sub(self, o: Money) -> Money {
        Money(self.0 - o.0)
    }
}

impl std::ops::Mul<u32> for Money {
    type Output = Money;
    fn mul(self, n: u32) -> Money {
        Money(self.0 * i64::from(n))
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}
