//! `xconnector products load FILE`: a whole catalogue into Shopify through the running
//! daemon's products API, in parts of `--batch` products, then a progress bar until every
//! product is written or held as an exception.
//!
//! Each part carries an `Idempotency-Key` made of the file's digest and the part's number, so a
//! load interrupted and run again stores nothing twice; and the flow writes only products that
//! differ from what it last wrote, so the run again costs Shopify only what is left.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

pub struct Load {
    pub file: PathBuf,
    pub config: PathBuf,
    pub source: String,
    pub batch: usize,
    pub url: Option<String>,
    pub token: Option<String>,
}

/// How often the requests are asked what became of their products.
const POLL: Duration = Duration::from_millis(500);

pub async fn load(args: Load) -> anyhow::Result<ExitCode> {
    let text = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let (source, products) = records(&text, &args.source)
        .with_context(|| format!("{} is not a catalogue", args.file.display()))?;
    let (base, token) = daemon(&args)?;
    let digest = {
        use sha2::{Digest, Sha256};
        let d = Sha256::digest(&text);
        d[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let client = xconnector_actors::http_client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;
    let batch = args.batch.clamp(1, 5_000);
    let total = products.len() as u64;
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template(
            "{msg:>9} [{bar:40}] {pos}/{len} products ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message("sending");
    let mut requests = Vec::new();
    for (part, chunk) in products.chunks(batch).enumerate() {
        let body = json!({"source": source, "products": chunk});
        let resp = client
            .post(format!("{base}/api/v1/products"))
            .bearer_auth(&token)
            .header("idempotency-key", format!("load-{digest}-{part}"))
            .json(&body)
            .send()
            .await
            .with_context(|| format!("cannot reach the daemon at {base}"))?;
        let status = resp.status();
        let answer: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bar.abandon();
            let first = part * batch;
            eprintln!(
                "the daemon refused products {first}..{} ({status}); nothing of that part was stored:",
                first + chunk.len()
            );
            for e in answer["errors"].as_array().into_iter().flatten() {
                // The API names entries within the part: say where they are in the file.
                eprintln!("  {}", renumber(e.as_str().unwrap_or_default(), first));
            }
            return Ok(ExitCode::from(2));
        }
        let id = answer["request_id"]
            .as_str()
            .context("the daemon's answer has no request_id")?
            .to_string();
        requests.push(id);
    }
    bar.set_message("writing");
    let mut states: BTreeMap<String, u64> = BTreeMap::new();
    let mut reasons: Vec<String> = Vec::new();
    loop {
        states.clear();
        reasons.clear();
        for id in &requests {
            let status: Value = client
                .get(format!("{base}/api/v1/requests/{id}"))
                .bearer_auth(&token)
                .send()
                .await?
                .json()
                .await?;
            for item in status["items"].as_array().into_iter().flatten() {
                let state = item["state"].as_str().unwrap_or("unknown").to_string();
                if state == "exception"
                    && let Some(r) = item["reason"].as_str()
                {
                    reasons.push(format!("item {}: {r}", item["id"]));
                }
                *states.entry(state).or_default() += 1;
            }
        }
        let finished = states.get("applied").copied().unwrap_or(0)
            + states.get("exception").copied().unwrap_or(0)
            + states.get("cancelled").copied().unwrap_or(0);
        bar.set_position(finished);
        if finished >= total {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    bar.finish_with_message("done");
    let count = |s: &str| states.get(s).copied().unwrap_or(0);
    println!(
        "{total} products: {} written or unchanged, {} exceptions",
        count("applied"),
        count("exception")
    );
    for r in reasons.iter().take(20) {
        println!("  {r}");
    }
    if reasons.len() > 20 {
        println!(
            "  … and {} more (xconnector items list --flow products --state exception)",
            reasons.len() - 20
        );
    }
    Ok(if reasons.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The products of a file: a request body, or JSON Lines of product records.
fn records(text: &[u8], source: &str) -> anyhow::Result<(String, Vec<Value>)> {
    if let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(text) {
        if let Some(Value::Array(products)) = body.get("products") {
            let source = body
                .get("source")
                .and_then(Value::as_str)
                .unwrap_or(source)
                .to_string();
            return Ok((source, products.clone()));
        }
        // A single record on one line is JSON Lines too.
        return Ok((source.to_string(), vec![Value::Object(body)]));
    }
    let mut products = Vec::new();
    for (n, line) in text.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record: Value = serde_json::from_slice(line)
            .with_context(|| format!("line {}: not a JSON product record", n + 1))?;
        products.push(record);
    }
    if products.is_empty() {
        bail!("no products in it");
    }
    Ok((source.to_string(), products))
}

/// The daemon's base URL and token, from the flags or the configuration.
fn daemon(args: &Load) -> anyhow::Result<(String, String)> {
    let config = match (&args.url, &args.token) {
        (Some(_), Some(_)) => None,
        _ => Some(
            crate::config::load(&args.config)
                .map_err(|e| anyhow::anyhow!("{}: {e}", args.config.display()))?,
        ),
    };
    let url = match (&args.url, &config) {
        (Some(u), _) => u.trim_end_matches('/').to_string(),
        (None, Some(c)) => format!("http://{}", c.server.listen),
        (None, None) => bail!("no daemon URL"),
    };
    let token = match (&args.token, &config) {
        (Some(t), _) => t.clone(),
        (None, Some(c)) => c
            .server
            .api_tokens
            .first()
            .map(|t| t.expose().to_string())
            .context("no server.api_tokens in the configuration; pass --token")?,
        (None, None) => bail!("no API token"),
    };
    Ok((url, token))
}

/// `products[3].title: …` of a part that starts at `first` → `products[first + 3].title: …`.
fn renumber(error: &str, first: usize) -> String {
    let Some(rest) = error.strip_prefix("products[") else {
        return error.to_string();
    };
    let Some((n, tail)) = rest.split_once(']') else {
        return error.to_string();
    };
    match n.parse::<usize>() {
        Ok(n) => format!("products[{}]{tail}", n + first),
        Err(_) => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_and_json_lines_are_both_catalogues() {
        let (source, products) = records(
            br#"{"source": "erp", "products": [{"handle": "a"}, {"handle": "b"}]}"#,
            "pim",
        )
        .unwrap();
        assert_eq!((source.as_str(), products.len()), ("erp", 2));
        let (source, products) =
            records(b"{\"handle\": \"a\"}\n\n{\"handle\": \"b\"}\n", "pim").unwrap();
        assert_eq!((source.as_str(), products.len()), ("pim", 2));
        let err = records(b"{\"handle\": \"a\"}\nnope\n", "pim").unwrap_err();
        assert!(format!("{err:#}").contains("line 2"), "{err:#}");
        assert_eq!(
            renumber("products[3].title: missing", 500),
            "products[503].title: missing"
        );
    }
}
