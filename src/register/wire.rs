//! Wire forms of the registers.
//!
//! * [`LwwRegister`]: `None`, or `(timestamp, id, value)` with the timestamp a varint and the id
//!   16 raw bytes in compact formats. Nothing else to validate on decode: every triple is a valid
//!   register. The skew of the timestamp depends on the receiver's clock: check it with
//!   [`LwwRegister::check_skew`].
//! * [`LwwStore`]: `[(dot, timestamp, value)]` in dot order; timestamps are checked against the
//!   receiver's clock by validated receipt, not here (a decoder has no clock).
//! * [`MvStore`]: `[(dot, value)]` in dot order.

use alloc::vec::Vec;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::lww::LwwRegister;
use super::{LwwStore, MvStore};
use crate::Error;
use crate::causal::{ReplicaId, decode_fun};
use crate::clock::Timestamp;
use crate::wire::{Decode, DecodeCx, ReplicaTable, WireDot, WireStore};

impl<T: Serialize> Serialize for LwwRegister<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.entry.serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for LwwRegister<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let e = Option::<(Timestamp, ReplicaId, T)>::deserialize(d)?;
        Ok(LwwRegister { entry: e })
    }
}

/// `None`, or `(timestamp, 16-byte id, value)`; the value decodes with serde.
impl<T: Serialize + DeserializeOwned> Decode for LwwRegister<T> {
    crate::wire::decode_through!(|e: Option<(Timestamp, ReplicaId, T)>, _| Ok(LwwRegister { entry: e }));
}

/// Timestamps are checked against the receiver's clock by validated receipt, not here: a
/// decoder has no clock.
impl<T: Clone + PartialEq + Serialize + DeserializeOwned> WireStore for LwwStore<T> {
    type Wire = Vec<(WireDot, Timestamp, T)>;

    fn to_wire(&self, table: &ReplicaTable) -> Self::Wire {
        self.fun.iter().map(|(d, (ts, v))| (table.dot(d), *ts, v.clone())).collect()
    }

    fn from_wire(wire: Self::Wire, table: &ReplicaTable, cx: &mut DecodeCx) -> Result<Self, Error> {
        let wire = wire.into_iter().map(|(d, ts, v)| (d, (ts, v))).collect();
        Ok(LwwStore { fun: decode_fun(wire, table, cx, "lww-store.value", |p, _| Ok(p))? })
    }
}

impl<T: Clone + PartialEq + Serialize + DeserializeOwned> WireStore for MvStore<T> {
    type Wire = Vec<(WireDot, T)>;

    fn to_wire(&self, table: &ReplicaTable) -> Self::Wire {
        self.fun.to_wire_with(table, T::clone)
    }

    fn from_wire(wire: Self::Wire, table: &ReplicaTable, cx: &mut DecodeCx) -> Result<Self, Error> {
        let fun = decode_fun(wire, table, cx, "mv-register", |v, _| Ok(v))?;
        Ok(MvStore { fun })
    }
}
