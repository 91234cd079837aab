//! Wire form of maps: `[(key, value's wire form)]`, sorted by key.

use alloc::vec::Vec;
use core::hash::Hash;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::MapStore;
use crate::Error;
use crate::wire::{DecodeCx, ReplicaTable, WireStore, Writer};

/// Canonical: keys in ascending order (hence `K: Ord`), no empty value. Decoding checks both,
/// the number of keys against [`Limits::max_elements`](crate::Limits::max_elements), the nesting
/// depth, and that no dot occurs twice across the WHOLE map (under two keys).
impl<K, S> WireStore for MapStore<K, S>
where
    K: Hash + Eq + Ord + Clone + Serialize + DeserializeOwned,
    S: WireStore,
{
    type Wire = Vec<(K, S::Wire)>;

    fn to_wire(&self, table: &ReplicaTable) -> Self::Wire {
        self.sorted_entries().into_iter().map(|(k, v)| (k.clone(), v.to_wire(table))).collect()
    }

    /// Writes the bytes of the wire form directly: the keys sorted by reference (never cloned),
    /// each through serde, each value by its own [`WireStore::encode_wire`].
    fn encode_wire(&self, table: &ReplicaTable, w: &mut Writer<'_>) {
        let entries = self.sorted_entries();
        w.len(entries.len());
        for (k, v) in entries {
            w.serde(k);
            v.encode_wire(table, w);
        }
    }

    fn from_wire(wire: Self::Wire, table: &ReplicaTable, cx: &mut DecodeCx) -> Result<Self, Error> {
        cx.check_len("map.keys", wire.len(), cx.limits.max_elements)?;
        cx.enter()?;
        let r = decode_entries(wire, table, cx);
        cx.leave();
        r
    }
}

fn decode_entries<K, S>(
    wire: Vec<(K, S::Wire)>,
    table: &ReplicaTable,
    cx: &mut DecodeCx,
) -> Result<MapStore<K, S>, Error>
where
    K: Hash + Eq + Ord + Clone + Serialize + DeserializeOwned,
    S: WireStore,
{
    let mut out = MapStore::default();
    let mut prev: Option<K> = None;
    for (k, w) in wire {
        if prev.as_ref().is_some_and(|p| *p >= k) {
            return Err(Error::NotCanonical { field: "map.keys" });
        }
        let v = S::from_wire(w, table, cx)?;
        if v.is_empty() {
            return Err(Error::NotCanonical { field: "map.value" });
        }
        out.insert_decoded(k.clone(), v).map_err(|dot| Error::DuplicateDot { dot })?;
        prev = Some(k);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use super::*;
    use crate::causal::DotSet;
    use crate::causal::ReplicaId;
    use crate::wire::WireDot;
    use crate::{CausalContext, Limits};

    #[test]
    fn nesting_depth_is_bounded() {
        let mut ctx = CausalContext::new();
        let _ = ctx.next_dot(ReplicaId::from_u128(1));
        let table = ReplicaTable::of(&ctx);
        let wire = || vec![(0u8, vec![(0u8, vec![WireDot(0, 1)])])];
        type Two = MapStore<u8, MapStore<u8, DotSet>>;
        let mut shallow = DecodeCx::new(Limits { max_depth: 1, ..Limits::default() });
        assert_eq!(Two::from_wire(wire(), &table, &mut shallow), Err(Error::TooDeep { limit: 1 }));
        let mut deep = DecodeCx::new(Limits { max_depth: 2, ..Limits::default() });
        assert!(Two::from_wire(wire(), &table, &mut deep).is_ok());
        assert_eq!(deep.depth, 0, "every level entered is left");
    }

    #[test]
    fn key_count_is_bounded() {
        let mut ctx = CausalContext::new();
        let _ = ctx.next_dot(ReplicaId::from_u128(1));
        let _ = ctx.next_dot(ReplicaId::from_u128(1));
        let table = ReplicaTable::of(&ctx);
        let wire = vec![(0u8, vec![WireDot(0, 1)]), (1u8, vec![WireDot(0, 2)])];
        let mut cx = DecodeCx::new(Limits { max_elements: 1, ..Limits::default() });
        assert!(matches!(
            MapStore::<u8, DotSet>::from_wire(wire, &table, &mut cx),
            Err(Error::TooLarge { field: "map.keys", .. })
        ));
    }
}
