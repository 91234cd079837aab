//! `#[derive(Lattice)]` and tuples of lattices: each generated capability against what the
//! fields do by themselves. The generic laws run on a derived struct and a tuple in
//! `tests/laws.rs`; the compile errors of wrong uses are in `tests/derive_errors.rs`.
#![cfg(all(feature = "derive", feature = "serde"))]

use convergent::causal::CheckInvariants;
use convergent::wire::{self, Decode, DecodeCx};
use convergent::{
    Decompose, Error, EwFlag, GCounter, Lattice, Limits, LwwRegister, MvRegister, OrMap, OrSet, PnCounter,
    Prune, Receive, ReceivePolicy, ReplicaId, Timestamp,
};

/// The README's shopping list.
#[derive(Clone, Debug, PartialEq, Lattice)]
struct ShoppingList {
    title: LwwRegister<String>,
    tags: OrSet<String>,
    items: OrMap<String, PnCounter>,
}

/// A tuple struct with a nested derived struct.
#[derive(Clone, Debug, PartialEq, Lattice)]
struct Household(ShoppingList, EwFlag);

/// Generic, with a `where` clause.
#[derive(Clone, Debug, PartialEq, Lattice)]
struct Tagged<T>
where
    T: core::hash::Hash + Eq + Clone + Ord,
{
    tags: OrSet<T>,
    votes: GCounter,
}

fn r(n: u128) -> ReplicaId {
    ReplicaId::from_u128(n)
}

fn list(me: ReplicaId, tag: &str, item: &str, n: u64) -> ShoppingList {
    let mut s = ShoppingList::bottom();
    let _ = s.update_tags(|t| t.insert(me, tag.into()));
    let _ = s.update_items(|m| m.update(me, item.into(), |q| q.increment(n)).0);
    s
}

#[test]
fn bottom_is_every_field_bottom() {
    let b = ShoppingList::bottom();
    assert!(b.is_bottom() && b.title.is_bottom() && b.tags.is_bottom() && b.items.is_bottom());
    let mut s = ShoppingList::bottom();
    let _ = s.update_items(|m| m.update(r(1), "milk".into(), |q| q.increment(1)).0);
    assert!(!s.is_bottom(), "a struct with one non-bottom field is not bottom");
}

/// Regression for `||` in place of `|`: when the first field changes, the later ones must still
/// be joined (by value and by reference), and a change in the LAST field alone is reported.
#[test]
fn join_joins_every_field_even_after_a_change() {
    let (a, b) = (list(r(1), "weekly", "milk", 1), list(r(2), "party", "eggs", 6));
    let mut by_ref = a.clone();
    assert!(by_ref.join_ref(&b));
    let mut by_value = a.clone();
    assert!(by_value.join(b.clone()));
    for j in [&by_ref, &by_value] {
        assert!(j.tags.contains("party") && j.tags.contains("weekly"));
        assert_eq!(j.items.get("eggs").map(|q| q.value()), Some(6), "the field after a changed one");
    }
    assert_eq!(by_ref, by_value);
    let mut c = by_ref.clone();
    let mut d = c.clone();
    let _ = d.update_items(|m| m.update(r(2), "rice".into(), |q| q.increment(1)).0);
    assert!(c.join_ref(&d));
    assert!(!c.join_ref(&d), "idempotent");
    assert_eq!(c, d);
}

#[test]
fn order_is_the_product_order() {
    let (a, b) = (list(r(1), "x", "milk", 1), list(r(2), "y", "eggs", 1));
    let j = a.clone().joined(b.clone());
    assert!(a.leq(&j) && b.leq(&j) && !a.leq(&b) && !b.leq(&a) && j.leq(&j));
    let mut only_tags = a.clone();
    only_tags.items = OrMap::bottom();
    assert!(only_tags.leq(&a) && !a.leq(&only_tags));
}

#[test]
fn decomposition_and_optimal_delta_are_field_wise() {
    let s = list(r(1), "x", "milk", 2).joined(list(r(2), "y", "eggs", 1));
    let parts = s.decompose();
    assert_eq!(parts.len(), s.irreducible_count());
    assert_eq!(parts.len(), s.tags.irreducible_count() + s.items.irreducible_count());
    // Each irreducible lives in one field, the others bottom.
    for p in &parts {
        let live =
            [p.title.is_bottom(), p.tags.is_bottom(), p.items.is_bottom()].iter().filter(|b| !**b).count();
        assert_eq!(live, 1, "{p:?}");
    }
    assert_eq!(ShoppingList::join_all(parts), s);
    let old = s.clone();
    let mut new = s.clone();
    let _ = new.update_tags(|t| t.insert(r(1), "z".into()));
    let d = new.delta(&old);
    assert!(d.items.is_bottom() && d.title.is_bottom());
    assert_eq!(d.irreducible_count(), 1);
    assert_eq!(old.joined(d), new);
}

#[test]
fn a_field_mutator_returns_a_delta_of_the_whole_struct() {
    let me = r(1);
    let mut s = ShoppingList::bottom();
    let before = s.clone();
    let d = s.update_title(|t| t.write(me, Timestamp::from_parts(10, 0), "groceries".into()));
    assert!(d.tags.is_bottom() && d.items.is_bottom());
    assert_eq!(d.title.value().map(String::as_str), Some("groceries"));
    assert_eq!(before.joined(d), s);
}

#[test]
fn a_transaction_returns_one_delta_for_several_fields() {
    let me = r(1);
    let mut s = list(r(2), "weekly", "milk", 1);
    let before = s.clone();
    let d = s.transact(|tx| {
        tx.update_tags(|t| t.remove(me, "weekly"))
            .update_items(|m| m.update(me, "milk".into(), |q| q.increment(2)).0)
            .update_items(|m| m.update(me, "eggs".into(), |q| q.increment(6)).0);
        // The state is mutated as the transaction goes.
        assert_eq!(tx.state().items.get("milk").map(|q| q.value()), Some(3));
        assert!(!tx.delta().tags.is_bottom());
    });
    assert!(!s.tags.contains("weekly"));
    assert_eq!(before.clone().joined(d.clone()), s);
    // The same edits one by one give the same delta-group.
    let mut t = before.clone();
    let group = t
        .update_tags(|x| x.remove(me, "weekly"))
        .joined(t.update_items(|m| m.update(me, "milk".into(), |q| q.increment(2)).0))
        .joined(t.update_items(|m| m.update(me, "eggs".into(), |q| q.increment(6)).0));
    assert_eq!(group, d);
}

#[test]
fn nested_and_generic_structs() {
    let mut h = Household::bottom();
    let d = h.update_0(|l| l.update_tags(|t| t.insert(r(1), "x".into())));
    let d2 = h.update_1(|f| f.enable(r(1)));
    assert!(d.1.is_bottom() && d2.0.is_bottom());
    let mut other = Household::bottom();
    assert!(other.join(d.joined(d2)));
    assert_eq!(other, h);

    let mut g = Tagged::<u8>::bottom();
    let d = g.transact(|tx| {
        tx.update_tags(|t| t.insert(r(1), 7)).update_votes(|v| v.increment(r(1), 2));
    });
    assert_eq!(Tagged::bottom().joined(d), g);
    assert_eq!(wire::from_bytes::<Tagged<u8>>(&wire::to_bytes(&g)), Ok(g));
}

#[test]
fn encoding_is_the_fields_back_to_back() {
    let s = list(r(1), "x", "milk", 2);
    let bytes = wire::to_bytes(&s);
    let mut expected = wire::to_bytes(&s.title);
    expected.extend_from_slice(&wire::to_bytes(&s.tags)[1..]);
    expected.extend_from_slice(&wire::to_bytes(&s.items)[1..]);
    assert_eq!(bytes, expected);
    assert_eq!(wire::from_bytes::<ShoppingList>(&bytes), Ok(s.clone()));
    let json = serde_json::to_string(&s).unwrap();
    assert!(json.starts_with("{\"title\":"), "{json}");
    assert_eq!(serde_json::from_str::<ShoppingList>(&json).unwrap(), s);
    let missing = serde_json::from_str::<ShoppingList>("{\"title\":null}").unwrap_err();
    assert!(missing.to_string().contains("missing field `tags`"), "{missing}");
    let h = Household(s, EwFlag::bottom());
    assert_eq!(serde_json::from_str::<Household>(&serde_json::to_string(&h).unwrap()).unwrap(), h);
}

#[test]
fn decode_errors_name_the_field_and_limits_reach_inside_it() {
    let s = list(r(1), "x", "milk", 2).joined(list(r(2), "y", "eggs", 1));
    let bytes = wire::to_bytes(&s);
    // Two replicas in `tags` (and in `items`): the caller's limit applies inside the field.
    let one = Limits { max_replicas: 1, ..Limits::default() };
    let e = wire::from_bytes_with::<ShoppingList>(&bytes, &one).unwrap_err();
    assert!(matches!(&e, Error::InField { field: "tags", .. }), "{e:?}");
    assert!(matches!(e.root_cause(), Error::TooLarge { limit: 1, found: 2, .. }), "{e:?}");
    // Cut inside the last field.
    let e = wire::from_bytes::<ShoppingList>(&bytes[..bytes.len() - 1]).unwrap_err();
    assert!(matches!(&e, Error::InField { field: "items", .. }), "{e:?}");
    // Nested: the path of fields.
    let h = Household(s.clone(), EwFlag::bottom());
    let e = wire::from_bytes_with::<Household>(&wire::to_bytes(&h), &one).unwrap_err();
    assert!(e.to_string().starts_with("0.tags."), "{e}");
    // Trailing bytes after the last field.
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(wire::from_bytes::<ShoppingList>(&long), Err(Error::Malformed { field: "bytes.trailing" }));
    // Decoding a prefix leaves the rest.
    let (back, rest) =
        ShoppingList::decode_prefix(&long[1..], &mut DecodeCx::new(Limits::default())).unwrap();
    assert_eq!((back, rest), (s, &[0u8][..]));
}

#[test]
fn receipt_checks_every_causal_field_for_own_events() {
    let me = r(1);
    let policy = ReceivePolicy::new(me, 1_000);
    let mut local = list(r(2), "x", "milk", 1);
    let before = local.clone();
    // An impostor speaks for `me` in the LAST field only.
    let mut impostor = ShoppingList::bottom();
    let forged = impostor.update_items(|m| m.update(me, "gold".into(), |q| q.increment(100)).0);
    let e = local.receive(forged, &policy).unwrap_err();
    assert!(matches!(e, Error::OwnDotFromFuture { .. }), "{e:?}");
    assert_eq!(local, before, "refused: nothing changed");
    // ... or in the middle one.
    let forged = ShoppingList::bottom().update_tags(|t| t.insert(me, "x".into()));
    assert!(matches!(local.receive(forged, &policy), Err(Error::OwnDotFromFuture { .. })));
    // A title from the far future.
    let far = ShoppingList::bottom()
        .update_title(|t| t.write(r(3), Timestamp::from_parts(10_000_000_000, 0), "x".into()));
    assert!(matches!(local.receive(far, &policy), Err(Error::TimestampTooFarAhead { .. })));
    assert_eq!(local, before);
    // An honest delta passes and joins.
    assert_eq!(local.receive(list(r(3), "y", "eggs", 2), &policy), Ok(true));
}

#[test]
fn invariants_are_every_fields() {
    let s = list(r(1), "x", "milk", 2);
    assert_eq!(s.check_invariants(), Ok(()));
    assert_eq!((s, EwFlag::bottom()).check_invariants(), Ok(()));
}

#[test]
fn tuples_are_product_lattices_with_every_capability() {
    type T = (GCounter, OrSet<u8>, MvRegister<u8>);
    let me = r(1);
    let mut t = T::bottom();
    let d1 = (t.0.increment(me, 2), OrSet::bottom(), MvRegister::bottom());
    let d2 = (GCounter::bottom(), t.1.insert(me, 3), t.2.write(me, 4));
    let mut other = T::bottom();
    assert!(other.join_ref(&d1) && other.join(d2.clone()));
    assert_eq!(other, t);
    assert_eq!(t.decompose().len(), t.irreducible_count());
    assert_eq!(t.delta(&d2), d1);
    assert_eq!(wire::from_bytes::<T>(&wire::to_bytes(&t)), Ok(t.clone()));
    let none = Limits { max_replicas: 0, ..Limits::default() };
    let e = wire::from_bytes_with::<T>(&wire::to_bytes(&t), &none).unwrap_err();
    assert!(matches!(e, Error::InField { field: "0", .. }), "{e:?}");
    let mut fresh = T::bottom();
    assert!(matches!(fresh.receive(t, &ReceivePolicy::new(me, 0)), Err(Error::OwnDotFromFuture { .. })));
    assert!(fresh.is_bottom());
}

/// Every replica id a shopping list names: in its causal contexts and its counters.
fn named(s: &ShoppingList) -> Vec<ReplicaId> {
    let mut ids: Vec<ReplicaId> = s.tags.context().ranges().map(|(r, _)| r).collect();
    ids.extend(s.items.context().ranges().map(|(r, _)| r));
    for (_, q) in s.items.iter() {
        ids.extend(q.increments().iter().chain(q.decrements().iter()).map(|(r, _)| r));
    }
    ids.sort();
    ids.dedup();
    ids
}

/// What a user reads of a shopping list, in a canonical order.
fn read(s: &ShoppingList) -> (Option<String>, Vec<String>, Vec<(String, i64)>) {
    let mut tags: Vec<String> = s.tags.iter().cloned().collect();
    tags.sort();
    let mut items: Vec<(String, i64)> = s.items.iter().map(|(k, q)| (k.clone(), q.value())).collect();
    items.sort();
    (s.title.value().cloned(), tags, items)
}

/// A replica that wrote into every field leaves (wiped, say); its heir folds it and every
/// replica purges it: the derived fold is the struct of the fields' folds, the reads do not
/// change, nothing names the retired id, and the replicas converge (one of them also edited
/// concurrently with the fold).
#[test]
fn prune_is_field_wise_and_folds_a_retired_writer_out_of_every_field() {
    let (gone, heir, other) = (r(1), r(2), r(3));
    let mut at_gone = list(gone, "weekly", "milk", 3);
    let d = at_gone.transact(|tx| {
        tx.update_items(|m| m.update(gone, "eggs".into(), |q| q.decrement(1)).0)
            .update_tags(|t| t.insert(gone, "party".into()));
    });
    let _ = d;
    let mut at_heir = list(heir, "weekly", "rice", 1).joined(at_gone.clone());
    let mut at_other = at_heir.clone();
    // Concurrent with the fold: `other` removes a tag the retired replica added, and counts.
    let concurrent = at_other.transact(|tx| {
        tx.update_tags(|t| t.remove(other, "party"))
            .update_items(|m| m.update(other, "milk".into(), |q| q.increment(2)).0);
    });
    let reads_before = read(&at_heir);
    assert!(named(&at_heir).contains(&gone));

    let fields = (
        at_heir.title.clone().fold(gone, heir),
        at_heir.tags.clone().fold(gone, heir),
        at_heir.items.clone().fold(gone, heir),
    );
    let before = at_heir.clone();
    let fold = at_heir.fold(gone, heir);
    assert_eq!((fold.title.clone(), fold.tags.clone(), fold.items.clone()), fields, "field by field");
    assert_eq!(before.joined(fold.clone()), at_heir, "an ordinary delta of the heir");
    assert_eq!(read(&at_heir), reads_before, "a fold changes no read");
    at_heir.purge(gone);
    assert_eq!(read(&at_heir), reads_before);
    assert!(!named(&at_heir).contains(&gone), "{:?}", named(&at_heir));

    at_other.join(fold.purged(gone));
    at_other.purge(gone);
    assert!(!named(&at_other).contains(&gone));
    at_heir.join(concurrent);
    at_other.join(at_heir.clone());
    assert_eq!(at_heir.clone().joined(at_other.clone()), at_other, "converged");
    assert_eq!(at_heir, at_other);
    let (_, tags, items) = read(&at_heir);
    // The heir's replacement of "party" is concurrent with the remove: add wins (docs/pruning.md).
    assert_eq!(tags, ["party", "weekly"]);
    assert_eq!(items, [("eggs".to_string(), -1), ("milk".to_string(), 5), ("rice".to_string(), 1)]);
}

/// A nested derived struct folds through its parent, and an engine of a derived struct retires.
#[test]
fn a_derived_struct_retires_through_the_sync_engine() {
    use convergent::sync::{Mode, SyncEngine};
    let (gone, heir) = (r(1), r(2));
    let mut h = Household::bottom();
    let _ = h.update_0(|l| l.update_tags(|t| t.insert(gone, "x".into())));
    let _ = h.update_1(|f| f.enable(gone));
    let mut e = SyncEngine::<Household>::new(heir, Mode::DeltaBpRr);
    e.local(h.clone());
    assert!(e.retire(gone));
    let s = e.state();
    assert!(s.0.tags.contains("x") && s.1.is_enabled());
    assert_eq!(s.0.tags.context().ranges().map(|(r, _)| r).collect::<Vec<_>>(), [heir]);
    assert_eq!(s.1.context().ranges().map(|(r, _)| r).collect::<Vec<_>>(), [heir]);
    let mut g = Tagged::<u8>::bottom();
    let _ = g.update_votes(|v| v.increment(gone, 4));
    let fold = g.fold(gone, heir);
    g.purge(gone);
    assert_eq!((g.votes.value(), g.votes.get(gone), fold.votes.get(heir)), (4, 0, 4));
}
