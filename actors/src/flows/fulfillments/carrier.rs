//! Carrier names as Shopify knows them. A fulfillment whose tracking company is one of
//! Shopify's supported names gets a tracking link in the customer's notification; the same
//! carrier spelled otherwise (`ups`, `Fedex`, `DHL`) does not. Unknown names are kept as sent.

/// Shopify's supported tracking companies (the common ones), spelled as Shopify spells them.
const KNOWN: &[&str] = &[
    "4PX",
    "Amazon Logistics UK",
    "Amazon Logistics US",
    "An Post",
    "APC",
    "Asendia USA",
    "Australia Post",
    "Bpost",
    "Canada Post",
    "Canpar",
    "China Post",
    "Chronopost",
    "Colissimo",
    "Correios",
    "Correos",
    "CTT",
    "Deutsche Post",
    "DHL eCommerce",
    "DHL eCommerce Asia",
    "DHL Express",
    "DPD",
    "DPD Local",
    "DPD UK",
    "Evri",
    "FedEx",
    "GLS",
    "Israel Post",
    "Japan Post (EN)",
    "La Poste",
    "Lasership",
    "Mondial Relay",
    "New Zealand Post",
    "NinjaVan",
    "OnTrac",
    "Packeta",
    "Poste Italiane",
    "PostNL",
    "PostNord DK",
    "PostNord NO",
    "PostNord SE",
    "Purolator",
    "Royal Mail",
    "Sendle",
    "SF Express",
    "Singapore Post",
    "StarTrack",
    "Swiss Post",
    "TNT",
    "UPS",
    "USPS",
    "Whistl",
    "Yamato (EN)",
    "YunExpress",
];

/// Other spellings of a known carrier.
const ALIASES: &[(&str, &str)] = &[
    ("dhl", "DHL Express"),
    ("dhlexpress", "DHL Express"),
    ("federalexpress", "FedEx"),
    ("fedexground", "FedEx"),
    ("unitedparcelservice", "UPS"),
    ("upsground", "UPS"),
    ("unitedstatespostalservice", "USPS"),
    ("uspostalservice", "USPS"),
    ("hermes", "Evri"),
    ("postnl", "PostNL"),
    ("royalmail", "Royal Mail"),
];

/// Letters and digits only, lowercase: `Fedex`, `FED-EX` and `fed ex` read alike.
fn key(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The carrier as Shopify names it, or the name as sent when Shopify does not know it.
pub fn normalise(name: &str) -> String {
    let k = key(name);
    if let Some(known) = KNOWN.iter().find(|known| key(known) == k) {
        return known.to_string();
    }
    if let Some((_, known)) = ALIASES.iter().find(|(alias, _)| *alias == k) {
        return known.to_string();
    }
    name.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_become_shopifys_names_and_unknown_ones_are_kept() {
        assert_eq!(normalise("ups"), "UPS");
        assert_eq!(normalise("Fedex"), "FedEx");
        assert_eq!(normalise("FED-EX"), "FedEx");
        assert_eq!(normalise("DHL"), "DHL Express");
        assert_eq!(normalise("canada post"), "Canada Post");
        assert_eq!(normalise("United States Postal Service"), "USPS");
        assert_eq!(normalise(" Acme Freight "), "Acme Freight");
    }
}
