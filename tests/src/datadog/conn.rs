//! Accepted connections that a fault can cut without answering.
//!
//! hyper always writes the response a handler returns, so "no response at all" cannot be expressed
//! as a response. Instead every accepted `TcpStream` is wrapped in a [`FaultIo`] whose
//! [`ConnHandle`] reaches the handlers as `ConnectInfo`. A handler that wants the client to see a
//! dead connection calls [`ConnHandle::drop_connection`]: from then on every read and write of the
//! wrapper fails, so hyper gives up on the connection before a byte of the answer reaches the
//! socket, and when it drops the socket `SO_LINGER 0` makes the close a TCP reset.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The stand-in's listener: plain TCP, each stream wrapped in a [`FaultIo`].
pub(crate) struct FaultListener {
    inner: TcpListener,
}

impl FaultListener {
    pub(crate) fn new(inner: TcpListener) -> Self {
        FaultListener { inner }
    }
}

impl Listener for FaultListener {
    type Io = FaultIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (FaultIo, SocketAddr) {
        // axum's own accept loop (it retries and backs off on accept errors).
        let (stream, addr) = Listener::accept(&mut self.inner).await;
        (FaultIo { stream, handle: ConnHandle::default() }, addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// Lets a request's handler cut the connection it arrived on.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConnHandle {
    dropped: Arc<AtomicBool>,
}

impl ConnHandle {
    /// Nothing more is read from or written to the connection; it is closed with a reset.
    pub(crate) fn drop_connection(&self) {
        self.dropped.store(true, Ordering::Release);
    }

    fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::Acquire)
    }
}

impl Connected<IncomingStream<'_, FaultListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, FaultListener>) -> Self {
        stream.io().handle.clone()
    }
}

/// A `TcpStream` that fails every operation once its [`ConnHandle`] dropped the connection.
pub(crate) struct FaultIo {
    stream: TcpStream,
    handle: ConnHandle,
}

impl FaultIo {
    fn cut(&self) -> Option<io::Error> {
        self.handle.is_dropped().then(|| {
            io::Error::new(io::ErrorKind::ConnectionReset, "stand-in fault: connection dropped on purpose")
        })
    }
}

impl Drop for FaultIo {
    fn drop(&mut self) {
        if self.handle.is_dropped() {
            // Close with RST rather than FIN, like a crashed peer or a load balancer giving up.
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for FaultIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.cut() {
            Some(e) => Poll::Ready(Err(e)),
            None => Pin::new(&mut this.stream).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for FaultIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match this.cut() {
            Some(e) => Poll::Ready(Err(e)),
            None => Pin::new(&mut this.stream).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match this.cut() {
            Some(e) => Poll::Ready(Err(e)),
            None => Pin::new(&mut this.stream).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.cut() {
            Some(e) => Poll::Ready(Err(e)),
            None => Pin::new(&mut this.stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.cut() {
            Some(e) => Poll::Ready(Err(e)),
            None => Pin::new(&mut this.stream).poll_shutdown(cx),
        }
    }
}
