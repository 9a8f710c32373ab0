//! Cancelling the query a session runs, from outside it, the way libpq's
//! PQcancel does: a cancel request on a new connection to the host that
//! answered, over TLS when the session used TLS, and then waiting for the
//! server to close that connection. The wait matters behind PgBouncer, which
//! forwards the request only after opening a server connection of its own
//! and drops it when the requester has already hung up.

use super::target::{HostKind, Target};
use super::tls::Tls;
use crate::error::Result;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{CancelToken, NoTls};

/// How long a cancel request may take, connection and the server's close
/// included; the server never answers it otherwise.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(10);

/// What cancels whatever query one session runs at that moment.
#[derive(Clone)]
pub struct PgCancel {
    token: CancelToken,
    tls: Option<Tls>,
    host: Target,
    /// `user@host:port/db` of the session, for messages.
    pub target: String,
}

impl PgCancel {
    pub(super) fn new(token: CancelToken, tls: Option<Tls>, host: Target, target: String) -> Self {
        PgCancel {
            token,
            tls,
            host,
            target,
        }
    }

    /// Sends the cancel request and waits until the server has taken it.
    /// Success means it was delivered; cancelling an idle or ended session
    /// does nothing.
    pub async fn cancel(&self) -> Result<()> {
        match tokio::time::timeout(CANCEL_TIMEOUT, self.send()).await {
            Ok(r) => r,
            Err(_) => Err(crate::error::Error::Connect {
                target: format!("postgres {}", self.target),
                detail: format!(
                    "the cancel request took over {} s",
                    CANCEL_TIMEOUT.as_secs()
                ),
                hint: Some("check that the server is reachable; the query may still run".into()),
            }),
        }
    }

    async fn send(&self) -> Result<()> {
        let err = |e: tokio_postgres::Error| super::pg::connect_error(&self.target, e);
        let io_err = |e: io::Error| crate::error::Error::Connect {
            target: format!("postgres {}", self.target),
            detail: format!("cannot open a connection for the cancel request: {e}"),
            hint: Some("check that the server is reachable".into()),
        };
        match &self.host.host {
            Some(HostKind::Unix(dir)) => {
                let path = dir.join(format!(".s.PGSQL.{}", self.host.port));
                let s = UnixStream::connect(path).await.map_err(io_err)?;
                self.token
                    .cancel_query_raw(until_closed(s), NoTls)
                    .await
                    .map_err(err)
            }
            _ => {
                let addr = match (self.host.hostaddr, &self.host.host) {
                    (Some(a), _) => a.to_string(),
                    (None, Some(HostKind::Tcp(h))) => h.clone(),
                    _ => "localhost".into(),
                };
                let s = TcpStream::connect((addr.as_str(), self.host.port))
                    .await
                    .map_err(io_err)?;
                let s = until_closed(s);
                match &self.tls {
                    Some(tls) => {
                        let mut tls = tls.clone();
                        let connect = MakeTlsConnect::<UntilClosed<TcpStream>>::make_tls_connect(
                            &mut tls,
                            &self.host.pgpass_host(),
                        )
                        .map_err(|e| crate::error::Error::Connect {
                            target: format!("postgres {}", self.target),
                            detail: format!("TLS for the cancel request: {e}"),
                            hint: None,
                        })?;
                        self.token.cancel_query_raw(s, connect).await.map_err(err)
                    }
                    None => self.token.cancel_query_raw(s, NoTls).await.map_err(err),
                }
            }
        }
    }
}

/// A stream whose shutdown first waits for the peer to close: tokio-postgres
/// shuts the stream down once the request is written, and this turns that
/// into libpq's wait for the server's EOF.
struct UntilClosed<S> {
    inner: S,
    /// The server has closed its side: the request was taken.
    peer_closed: bool,
}

fn until_closed<S>(inner: S) -> UntilClosed<S> {
    UntilClosed {
        inner,
        peer_closed: false,
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for UntilClosed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for UntilClosed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Half-closing first would look like a hang-up to PgBouncer, which
        // then drops the request: wait for the peer's close, as libpq does.
        let mut scratch = [0u8; 64];
        while !self.peer_closed {
            let mut buf = ReadBuf::new(&mut scratch);
            match ready!(Pin::new(&mut self.inner).poll_read(cx, &mut buf)) {
                Ok(()) if !buf.filled().is_empty() => continue,
                // A reset after the request was written still delivered it.
                _ => self.peer_closed = true,
            }
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
