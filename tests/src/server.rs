//! A stand-in's HTTP server on its own tokio runtime in a background thread, so it works from
//! sync `#[test]`s and from inside async code alike; dropping it stops the server.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

/// Resolves when the server should stop.
pub(crate) type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

pub(crate) struct BackgroundServer {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BackgroundServer {
    /// Binds `addr` and runs `serve(listener, shutdown)` on a runtime of its own (`workers`
    /// threads; 0 = a current-thread runtime) in a thread named `name-PORT`. Returns once the
    /// listener is live, or the error that kept it from starting.
    pub(crate) fn start<F, Fut>(
        addr: SocketAddr,
        name: &str,
        workers: usize,
        serve: F,
    ) -> std::io::Result<Self>
    where
        F: FnOnce(tokio::net::TcpListener, Shutdown) -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<std::io::Result<()>>();
        let thread_name = name.to_string();
        let thread =
            std::thread::Builder::new().name(format!("{name}-{}", addr.port())).spawn(move || {
                let rt = if workers == 0 {
                    tokio::runtime::Builder::new_current_thread().enable_all().build()
                } else {
                    tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(workers)
                        .thread_name(thread_name)
                        .enable_all()
                        .build()
                };
                let rt = match rt {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                rt.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    serve(
                        listener,
                        Box::pin(async {
                            let _ = shutdown_rx.await;
                        }),
                    )
                    .await;
                });
                rt.shutdown_timeout(Duration::from_millis(500));
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => {
                let _ = thread.join();
                return Err(std::io::Error::other(format!("the {name} server thread died")));
            }
        }
        Ok(BackgroundServer { addr, shutdown: Some(shutdown_tx), thread: Some(thread) })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
