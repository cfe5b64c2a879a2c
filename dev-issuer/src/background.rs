//! A server running on its own thread (with its own runtime), stopped on drop
//! (the development issuer's, and authkit-host's servers).

use std::thread::JoinHandle;

use tokio::sync::oneshot;

/// Owns a background server thread and the signal that stops it.
pub struct Background {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Background {
    pub fn new(stop: oneshot::Sender<()>, thread: JoinHandle<()>) -> Self {
        Self {
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Blocks until the thread ends (for a process that only serves).
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
