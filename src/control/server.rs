//! Serving the control API on a Unix socket that only the daemon's own user can open.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use tokio::net::{UnixListener, UnixStream};

use super::{Peer, user_name};

#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error("another xconnector is already listening on {0}")]
    InUse(PathBuf),
    #[error("{0} exists and is not a socket; refusing to replace it (choose another path)")]
    NotASocket(PathBuf),
    #[error("cannot create the control socket {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Binds the socket at `path`. A socket file nobody answers on is left over from a crash and
/// replaced; one that answers belongs to a live daemon and is left alone.
pub async fn bind(path: &Path) -> Result<UnixListener, BindError> {
    let io = |source| BindError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        // Only a socket left over from a crash is ours to remove: a mistyped --socket that
        // names a config file or a journal must not delete it.
        if !meta.file_type().is_socket() {
            return Err(BindError::NotASocket(path.to_path_buf()));
        }
        if UnixStream::connect(path).await.is_ok() {
            return Err(BindError::InUse(path.to_path_buf()));
        }
        std::fs::remove_file(path).map_err(io)?;
    }
    // Only the daemon's user may act on it: the socket grants every operator action. The
    // umask makes it 0600 from the moment it exists, not only after a chmod another user
    // could race; files other threads create meanwhile only come out stricter.
    // SAFETY: umask has no memory effects; it is set and restored around one call.
    let old = unsafe { libc::umask(0o177) };
    let bound = UnixListener::bind(path);
    unsafe { libc::umask(old) };
    let listener = bound.map_err(io)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    Ok(listener)
}

impl Connected<IncomingStream<'_, UnixListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, UnixListener>) -> Self {
        match stream.io().peer_cred() {
            Ok(cred) => Peer {
                uid: Some(cred.uid()),
                user: user_name(cred.uid()),
            },
            Err(_) => Peer {
                uid: None,
                user: "unknown".into(),
            },
        }
    }
}

/// Serves `router` until `stop` resolves, then removes the socket file.
pub async fn serve(
    listener: UnixListener,
    path: PathBuf,
    router: Router,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let result = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<Peer>(),
    )
    .with_graceful_shutdown(stop)
    .await;
    let _ = std::fs::remove_file(&path);
    result
}
