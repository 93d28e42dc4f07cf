//! The one delivery path against the simulated back office: idempotency keys and signatures on
//! the wire, transient versus permanent failures, Retry-After, the circuit breaker, file drops.

use std::time::Duration;

use ractor::Actor;
use xconnector::sim::backoffice::{BackOffice, Mode};
use xconnector_actors::endpoints::{
    BreakerSettings, EndpointKind, EndpointSpec, EndpointsActor, EndpointsArgs, EndpointsHandle,
    FileFormat, FileSpec, Health, HttpSpec,
};
use xconnector_actors::flows::Outcome;
use xconnector_actors::signature::delivery_signature;

fn http(name: &str, url: String, secret: Option<&str>) -> EndpointSpec {
    EndpointSpec {
        name: name.into(),
        kind: EndpointKind::Http(HttpSpec {
            url,
            headers: vec![("authorization".into(), "Bearer erp-token".into())],
            signing_secret: secret.map(str::to_string),
            timeout: Duration::from_millis(500),
        }),
        concurrency: 4,
        breaker: BreakerSettings {
            threshold: 3,
            cooldown: Duration::from_secs(60),
            max_cooldown: Duration::from_secs(60),
        },
        max_attempts: 10,
        max_age: Duration::from_secs(3600),
    }
}

async fn endpoints(specs: Vec<EndpointSpec>) -> EndpointsHandle {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let name = format!(
        "endpoints-test-{}",
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let args = EndpointsArgs { specs, store: None };
    Actor::spawn(Some(name.clone()), EndpointsActor, args)
        .await
        .unwrap();
    EndpointsHandle::named(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_deliveries_carry_key_and_signature_and_classify_failures() {
    let office = BackOffice::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let eps = endpoints(vec![http("erp", office.url("erp"), Some("shh"))]).await;
    let body = br##"{"order":"#1001"}"##.to_vec();

    assert_eq!(eps.deliver("erp", "17", body.clone()).await, Outcome::Done);
    let got = office.received("erp");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].idempotency_key, "17");
    assert_eq!(
        got[0].signature.as_deref(),
        Some(delivery_signature("shh", &body).as_str())
    );

    office.set_mode("erp", Mode::Throttle(7));
    assert_eq!(
        eps.deliver("erp", "18", body.clone()).await,
        Outcome::Retry {
            error: "erp: HTTP 429 Too Many Requests".into(),
            after: Some(Duration::from_secs(7))
        }
    );
    office.set_mode("erp", Mode::Reject(422, "unknown SKU ABC-1".into()));
    match eps.deliver("erp", "19", body.clone()).await {
        Outcome::Exception { reason } => assert!(
            reason.contains("422") && reason.contains("unknown SKU ABC-1"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    office.set_mode("erp", Mode::Slow(Duration::from_secs(2)));
    assert!(
        matches!(
            eps.deliver("erp", "20", body.clone()).await,
            Outcome::Retry { .. }
        ),
        "a timeout is transient"
    );
    assert!(matches!(
        eps.deliver("nope", "21", body).await,
        Outcome::Exception { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_endpoint_opens_the_circuit_and_is_left_alone() {
    let office = BackOffice::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let eps = endpoints(vec![http("wms", office.url("wms"), None)]).await;
    office.set_mode("wms", Mode::Fail(503));
    for key in 0..3 {
        assert!(matches!(
            eps.deliver("wms", &key.to_string(), b"{}".to_vec()).await,
            Outcome::Retry { .. }
        ));
    }
    // Open: no request reaches the receiver, the caller is told when to come back.
    match eps.deliver("wms", "4", b"{}".to_vec()).await {
        Outcome::Retry { error, after } => {
            assert!(error.contains("circuit open"), "{error}");
            assert!(after.is_some_and(|a| a > Duration::from_secs(50)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(office.refused("wms"), 3);
    let status = eps.status().await;
    assert_eq!(status[0].health, Health::CircuitOpen);
    assert_eq!(status[0].failed, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_gives_up_at_its_max_attempts_or_max_age() {
    let office = BackOffice::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let eps = endpoints(vec![http("erp", office.url("erp"), None)]).await;
    office.set_mode("erp", Mode::Fail(503));
    let now = xconnector_actors::item::now_ms();
    assert!(matches!(
        eps.deliver_attempt("erp", "1", b"{}".to_vec(), 9, now)
            .await,
        Outcome::Retry { .. }
    ));
    match eps
        .deliver_attempt("erp", "1", b"{}".to_vec(), 10, now)
        .await
    {
        Outcome::Exception { reason } => assert!(
            reason.contains("gave up after 10 attempts") && reason.contains("503"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    let two_hours_ago = now - 2 * 3600 * 1000;
    assert!(matches!(
        eps.deliver_attempt("erp", "2", b"{}".to_vec(), 2, two_hours_ago)
            .await,
        Outcome::Exception { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_are_transient() {
    let eps = endpoints(vec![http("crm", "http://127.0.0.1:9/crm".into(), None)]).await;
    match eps.deliver("crm", "1", b"{}".to_vec()).await {
        Outcome::Retry { error, .. } => assert!(error.contains("cannot connect"), "{error}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_drops_are_durable_lines_with_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let spec = EndpointSpec {
        name: "3pl".into(),
        kind: EndpointKind::File(FileSpec {
            dir: dir.path().to_path_buf(),
            format: FileFormat::Jsonl,
            max_bytes: 1 << 20,
            mode: 0o640,
        }),
        concurrency: 8,
        breaker: BreakerSettings::default(),
        max_attempts: 10,
        max_age: Duration::from_secs(3600),
    };
    let eps = endpoints(vec![spec]).await;
    let mut tasks = Vec::new();
    for n in 0..50 {
        let eps = eps.clone();
        tasks.push(tokio::spawn(async move {
            eps.deliver(
                "3pl",
                &n.to_string(),
                format!(r#"{{"n":{n}}}"#).into_bytes(),
            )
            .await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), Outcome::Done);
    }
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let mut keys: Vec<u32> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["idempotency_key"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        (0..50).collect::<Vec<_>>(),
        "every record once, whole lines only"
    );
    assert!(matches!(
        eps.deliver("3pl", "x", b"not json".to_vec()).await,
        Outcome::Exception { .. }
    ));
}
