//! The guests' wall clock (`wasi:clocks/wall-clock`): the system's, shifted by an
//! offset that a test moves forward, so that token expiry is tested without
//! waiting for it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wasmtime_wasi::HostWallClock;

/// A wall clock shared by every request of a server (and by the test that
/// holds a clone). Clones share the offset.
#[derive(Clone, Debug, Default)]
pub struct WallClock {
    ahead_secs: Arc<AtomicU64>,
}

impl WallClock {
    /// Moves the clock `by` seconds ahead of the system's, for every request
    /// that starts from now on.
    pub fn advance(&self, by: Duration) {
        self.ahead_secs.fetch_add(by.as_secs(), Ordering::SeqCst);
    }
}

/// Two configurations are equal when they share the clock.
impl PartialEq for WallClock {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.ahead_secs, &other.ahead_secs)
    }
}

impl Eq for WallClock {}

impl HostWallClock for WallClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        system + Duration::from_secs(self.ahead_secs.load(Ordering::SeqCst))
    }
}
