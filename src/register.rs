//! Registers: the last-writer-wins register ([`LwwRegister`](crate::LwwRegister)) and the
//! multi-value register ([`MvRegister`](crate::MvRegister)), and their forms inside an
//! [`OrMap`](crate::OrMap) ([`LwwStore`], [`MvStore`]).

pub(crate) mod lww;
mod lww_store;
pub(crate) mod mv;
#[cfg(feature = "serde")]
mod wire;

pub use lww_store::LwwStore;
pub use mv::{MvStore, MvValues};
