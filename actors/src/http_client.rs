//! The one way to build an HTTP client: rustls with the ring provider (no C toolchain beyond
//! ring's own, unlike aws-lc), installed once per process before any client exists.

use std::sync::Once;

/// A reqwest client builder with TLS ready. Every HTTP client of xconnector starts here.
pub fn builder() -> reqwest::ClientBuilder {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        // Fails only if another provider was installed first, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
}
