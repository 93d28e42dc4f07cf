//! Product images: attaching one simulates fetching its original, which fails for some URLs.

use super::*;

/// Whether fetching `url` fails: always for a URL with `/broken/` in its path, otherwise for a
/// `share` (0 to 1) of URLs chosen by a hash of the URL, so the same URL always gives the same
/// result and a retry does not change it.
pub fn media_fetch_fails(url: &str, share: f64) -> bool {
    if url.contains("/broken/") {
        return true;
    }
    if share <= 0.0 {
        return false;
    }
    // FNV-1a: stable across runs and platforms, unlike the standard library's hasher.
    let hash = url.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    ((hash >> 11) as f64 / (1u64 << 53) as f64) < share
}

impl Shop {
    /// Attach an image to a product's media store (the caller lists it on the product). Ready
    /// at once, or failed with the download error.
    pub(super) fn insert_media(&mut self, product_id: Id, url: &str, alt: Option<String>) -> Id {
        let id = self.next_id();
        let now = self.now();
        let failed = media_fetch_fails(url, self.media_fetch_failure);
        self.media.insert(
            id,
            MediaImage {
                id,
                product_id,
                alt,
                original_url: url.to_string(),
                status: if failed {
                    MediaStatus::Failed
                } else {
                    MediaStatus::Ready
                },
                errors: if failed {
                    vec![(
                        "IMAGE_DOWNLOAD_FAILURE".into(),
                        format!("Image could not be downloaded from {url}"),
                    )]
                } else {
                    Vec::new()
                },
                created_at: now,
                updated_at: now,
            },
        );
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_failures_are_deterministic_and_near_the_share() {
        assert!(media_fetch_fails(
            "https://cdn.example.com/broken/1.jpg",
            0.0
        ));
        assert!(!media_fetch_fails("https://cdn.example.com/a.jpg", 0.0));
        let urls: Vec<String> = (0..2000)
            .map(|i| format!("https://cdn.example.com/pim/{i}/0.jpg"))
            .collect();
        let failed = urls.iter().filter(|u| media_fetch_fails(u, 0.25)).count();
        assert!((400..600).contains(&failed), "{failed}");
        assert!(
            urls.iter()
                .all(|u| media_fetch_fails(u, 0.25) == media_fetch_fails(u, 0.25))
        );
    }
}
