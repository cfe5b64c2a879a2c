//! `wasi:config/store@0.2.0-draft-2024-09-27`: Spin's application variables.
//!
//! wasmtime-wasi-config implements a different draft (0.2.0-rc.1), so the
//! interface Spin 3 links is bound here from the vendored WIT.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::{HasData, Linker};

mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "authkit:host/config-store",
        imports: { default: trappable },
    });
}

use bindings::wasi::config::store::{Error, Host};

/// The variables one server hands to every instance it creates.
pub(crate) type Variables = Arc<BTreeMap<String, String>>;

/// What the config-store host functions see of a request's state.
pub(crate) struct ConfigView<'a> {
    pub(crate) variables: &'a Variables,
}

struct ConfigStore;

impl HasData for ConfigStore {
    type Data<'a> = ConfigView<'a>;
}

impl Host for ConfigView<'_> {
    /// Like Spin: an undefined (or malformed) name is `Ok(None)`, not an error.
    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, Error>> {
        Ok(Ok(self.variables.get(&key).cloned()))
    }

    fn get_all(&mut self) -> wasmtime::Result<Result<Vec<(String, String)>, Error>> {
        Ok(Ok(self
            .variables
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()))
    }
}

pub(crate) fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> ConfigView<'_>,
) -> wasmtime::Result<()> {
    bindings::wasi::config::store::add_to_linker::<T, ConfigStore>(linker, get)
}
