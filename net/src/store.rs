//! Durable replicas on redb: the id, the sequence number and the state, saved atomically, with an
//! append-only log of deltas compacted into the state from time to time.

use std::path::Path;

use convergent::sync::{RetireMark, RetireMessage, Retirement, SyncRecord};
use convergent::wire::{self, Decode};
use convergent::{Lattice, Limits, ReplicaId};
use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};

/// `"id"` (16 bytes), `"seq"` (8 bytes, little endian), `"state"` (the compacted state, wire
/// form), `"record"` (the sync record), `"marks"` (the engine's retirement marks, as a
/// `RetireMessage::Marks`), `"retirements"` (the engine's retirement records, as a
/// `RetireMessage::Records`).
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// Deltas appended since the last compaction, by append number: the engine's sequence number
/// (8 bytes, little endian) followed by the delta (wire form).
const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");

/// Why a durable replica could not be opened, read or written.
#[derive(Debug)]
pub enum StoreError {
    /// The database refused (I/O error, corruption, another process holds the file).
    Db(Box<redb::Error>),
    /// A stored value did not decode: the file was written by something else.
    Decode(convergent::Error),
    /// A record is missing or has the wrong length.
    Corrupt(&'static str),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Db(e) => write!(f, "database: {e}"),
            StoreError::Decode(e) => write!(f, "stored value: {e}"),
            StoreError::Corrupt(what) => write!(f, "stored record {what} is missing or malformed"),
        }
    }
}

impl std::error::Error for StoreError {}

impl<E: Into<redb::Error>> From<E> for StoreError {
    fn from(e: E) -> Self {
        StoreError::Db(Box::new(e.into()))
    }
}

/// What a durable replica holds when it is opened.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded<L> {
    /// The replica's id: the stored one, or a new random one if the file held no replica.
    pub id: ReplicaId,
    /// The sync engine's sequence number at the last save.
    pub seq: u64,
    /// The state: the compacted state joined with every logged delta.
    pub state: L,
    /// Whether the replica was created now (no stored state: a new id).
    pub fresh: bool,
    /// The sync engine's record of its neighbours at the last save
    /// ([`SyncEngine::with_sync_record`](convergent::sync::SyncEngine::with_sync_record)).
    pub record: SyncRecord,
    /// The engine's retirement records at their last save
    /// ([`SyncEngine::with_retirements`](convergent::sync::SyncEngine::with_retirements)).
    pub retirements: Vec<Retirement<L>>,
    /// The engine's retirement marks (phase 1) at their last save
    /// ([`SyncEngine::with_retirement_marks`](convergent::sync::SyncEngine::with_retirement_marks)).
    pub marks: Vec<RetireMark>,
}

/// What one save wrote, for the stats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SaveCost {
    /// Bytes of values handed to the database (the delta, or the state on compaction, plus the
    /// 8-byte sequence number). The file grows by whole pages; see the README for measured
    /// bytes written to disk.
    pub bytes: u64,
    /// Whether this save compacted the log into the state.
    pub compacted: bool,
}

/// A replica's durable record in one redb file.
///
/// Every [`append`](Self::append) is one ACID transaction that adds a delta to the log and the
/// new sequence number, so a save costs the delta, not the state. When the log holds more than
/// [`compact_every`](Self::with_compact_every) deltas, or more bytes than the state, the next
/// append writes the state instead and clears the log (compaction).
///
/// The rule this type enforces: **no stored state means a new id**
/// ([`load_or_fresh`](Self::load_or_fresh)); a replica never reuses its id after losing its
/// file, so it never re-issues an event number.
///
/// ```
/// use convergent::{GCounter, Lattice};
/// use convergent_net::DurableReplica;
///
/// let dir = std::env::temp_dir().join(format!("doc-durable-{}", std::process::id()));
/// let _ = std::fs::remove_dir_all(&dir);
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("replica.redb");
///
/// let (mut store, loaded) = DurableReplica::<GCounter>::load_or_fresh(&path).unwrap();
/// assert!(loaded.fresh);
/// let mut state = loaded.state;
/// let delta = state.increment(loaded.id, 3);
/// store.append(1, &delta, &state, &Default::default()).unwrap(); // durable once this returns
/// drop(store);
///
/// let (_, again) = DurableReplica::<GCounter>::load_or_fresh(&path).unwrap();
/// assert_eq!((again.id, again.seq, again.state.value(), again.fresh), (loaded.id, 1, 3, false));
/// ```
#[derive(Debug)]
pub struct DurableReplica<L> {
    db: Database,
    id: ReplicaId,
    next_entry: u64,
    log_entries: u64,
    log_bytes: u64,
    state_bytes: u64,
    compact_every: u64,
    _state: std::marker::PhantomData<fn() -> L>,
}

/// A log entry: `[seq: 8 bytes LE][record length: 4 bytes LE][sync record][delta]`.
fn log_entry(seq: u64, record: &[u8], delta: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(12 + record.len() + delta.len());
    v.extend_from_slice(&seq.to_le_bytes());
    v.extend_from_slice(&u32::try_from(record.len()).unwrap_or(u32::MAX).to_le_bytes());
    v.extend_from_slice(record);
    v.extend_from_slice(delta);
    v
}

/// A log entry's sequence number, sync record and delta.
fn split_entry(v: &[u8]) -> Result<(u64, &[u8], &[u8]), StoreError> {
    let bad = StoreError::Corrupt("log entry");
    let (seq, rest) = v.split_at_checked(8).ok_or(StoreError::Corrupt("log entry"))?;
    let (len, rest) = rest.split_at_checked(4).ok_or(StoreError::Corrupt("log entry"))?;
    let len = u32::from_le_bytes(len.try_into().map_err(|_| StoreError::Corrupt("log entry"))?) as usize;
    let (record, delta) = rest.split_at_checked(len).ok_or(bad)?;
    Ok((u64::from_le_bytes(seq.try_into().map_err(|_| StoreError::Corrupt("log entry"))?), record, delta))
}

fn decode_record(bytes: &[u8]) -> Result<SyncRecord, StoreError> {
    postcard::from_bytes(bytes).map_err(|_| StoreError::Corrupt("sync record"))
}

/// Generous limits for our own file: it was written by us, but is still checked on the way in.
fn store_limits() -> Limits {
    Limits { max_bytes: 1 << 30, ..Limits::default() }
}

impl<L: Lattice + Decode> DurableReplica<L> {
    /// Opens the replica stored at `path`, or creates one under a NEW random id if the file does
    /// not exist or holds no replica. The new id is written before this returns.
    /// `O(state + log)`.
    ///
    /// # Errors
    ///
    /// [`StoreError`] if the file cannot be opened or holds something else.
    ///
    /// ```
    /// # use convergent::{GCounter, Lattice};
    /// # use convergent_net::DurableReplica;
    /// # let p = std::env::temp_dir().join(format!("doc-{}-{}.redb", line!(), std::process::id()));
    /// # let _ = std::fs::remove_file(&p);
    /// let (store, loaded) = DurableReplica::<GCounter>::load_or_fresh(&p).unwrap();
    /// assert!(loaded.fresh && loaded.state.is_bottom());
    /// ```
    pub fn load_or_fresh(path: impl AsRef<Path>) -> Result<(Self, Loaded<L>), StoreError> {
        let db = Database::create(path.as_ref())?;
        let read = db.begin_read()?;
        let stored = match read.open_table(META) {
            Ok(meta) => match meta.get("id")? {
                Some(id) => {
                    let id: [u8; 16] = id.value().try_into().map_err(|_| StoreError::Corrupt("id"))?;
                    let seq = meta.get("seq")?.ok_or(StoreError::Corrupt("seq"))?;
                    let seq =
                        u64::from_le_bytes(seq.value().try_into().map_err(|_| StoreError::Corrupt("seq"))?);
                    let state_bytes = meta.get("state")?.ok_or(StoreError::Corrupt("state"))?;
                    let state_len = state_bytes.value().len() as u64;
                    let mut state: L = wire::from_bytes_with(state_bytes.value(), &store_limits())
                        .map_err(StoreError::Decode)?;
                    let (mut next, mut entries, mut bytes) = (0, 0, 0);
                    let mut seq = seq;
                    let mut record = match meta.get("record")? {
                        Some(r) => decode_record(r.value())?,
                        None => SyncRecord::default(),
                    };
                    let retirements = match meta.get("retirements")? {
                        Some(r) => match RetireMessage::<L>::from_bytes(r.value(), &store_limits())
                            .map_err(StoreError::Decode)?
                        {
                            RetireMessage::Records(records) => records,
                            _ => return Err(StoreError::Corrupt("retirements")),
                        },
                        None => Vec::new(),
                    };
                    let marks = match meta.get("marks")? {
                        Some(r) => match RetireMessage::<L>::from_bytes(r.value(), &store_limits())
                            .map_err(StoreError::Decode)?
                        {
                            RetireMessage::Marks(marks) => marks,
                            _ => return Err(StoreError::Corrupt("marks")),
                        },
                        None => Vec::new(),
                    };
                    if let Ok(log) = read.open_table(LOG) {
                        for row in log.iter()? {
                            let (k, v) = row?;
                            let (entry_seq, entry_record, delta) = split_entry(v.value())?;
                            record = decode_record(entry_record)?;
                            let delta: L =
                                wire::from_bytes_with(delta, &store_limits()).map_err(StoreError::Decode)?;
                            state.join(delta);
                            seq = seq.max(entry_seq);
                            next = k.value() + 1;
                            entries += 1;
                            bytes += v.value().len() as u64;
                        }
                    }
                    Some((
                        ReplicaId::from_bytes(id),
                        seq,
                        state,
                        record,
                        retirements,
                        marks,
                        (state_len, next, entries, bytes),
                    ))
                }
                None => None,
            },
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(e.into()),
        };
        drop(read);
        let mut store = DurableReplica {
            db,
            id: ReplicaId::from_u128(0),
            next_entry: 0,
            log_entries: 0,
            log_bytes: 0,
            state_bytes: 0,
            compact_every: 256,
            _state: std::marker::PhantomData,
        };
        if let Some((id, seq, state, record, retirements, marks, (state_bytes, next, entries, bytes))) =
            stored
        {
            store.id = id;
            store.state_bytes = state_bytes;
            store.next_entry = next;
            store.log_entries = entries;
            store.log_bytes = bytes;
            return Ok((store, Loaded { id, seq, state, fresh: false, record, retirements, marks }));
        }
        let id = ReplicaId::random();
        store.id = id;
        let state = L::bottom();
        store.write(|meta, log| {
            meta.insert("id", &id.to_bytes()[..])?;
            meta.insert("seq", &0u64.to_le_bytes()[..])?;
            meta.insert("state", &wire::to_bytes(&state)[..])?;
            log.retain(|_, _| false)?;
            Ok(())
        })?;
        Ok((
            store,
            Loaded {
                id,
                seq: 0,
                state,
                fresh: true,
                record: SyncRecord::default(),
                retirements: Vec::new(),
                marks: Vec::new(),
            },
        ))
    }

    /// Compacts after this many logged deltas at most (default 256; at least 1). `O(1)`.
    ///
    /// ```
    /// # use convergent::GCounter;
    /// # use convergent_net::DurableReplica;
    /// # let p = std::env::temp_dir().join(format!("doc-compact-{}.redb", std::process::id()));
    /// # let _ = std::fs::remove_file(&p);
    /// let (store, _) = DurableReplica::<GCounter>::load_or_fresh(&p).unwrap();
    /// let store = store.with_compact_every(16);
    /// assert_eq!(store.compact_every(), 16);
    /// ```
    #[must_use]
    pub fn with_compact_every(mut self, entries: u64) -> Self {
        self.compact_every = entries.max(1);
        self
    }

    /// The compaction threshold (see [`with_compact_every`](Self::with_compact_every)).
    ///
    /// ```
    /// # use convergent::{GCounter, Lattice};
    /// # use convergent_net::DurableReplica;
    /// # let p = std::env::temp_dir().join(format!("doc-{}-{}.redb", line!(), std::process::id()));
    /// # let _ = std::fs::remove_file(&p);
    /// let (store, loaded) = DurableReplica::<GCounter>::load_or_fresh(&p).unwrap();
    /// assert_eq!(store.compact_every(), 256);
    /// ```
    pub fn compact_every(&self) -> u64 {
        self.compact_every
    }

    /// The stored replica id.
    ///
    /// ```
    /// # use convergent::{GCounter, Lattice};
    /// # use convergent_net::DurableReplica;
    /// # let p = std::env::temp_dir().join(format!("doc-{}-{}.redb", line!(), std::process::id()));
    /// # let _ = std::fs::remove_file(&p);
    /// let (store, loaded) = DurableReplica::<GCounter>::load_or_fresh(&p).unwrap();
    /// assert_eq!(store.id(), loaded.id);
    /// ```
    pub fn id(&self) -> ReplicaId {
        self.id
    }

    /// The number of deltas in the log (since the last compaction).
    ///
    /// ```
    /// # use convergent::{GCounter, Lattice};
    /// # use convergent_net::DurableReplica;
    /// # let p = std::env::temp_dir().join(format!("doc-{}-{}.redb", line!(), std::process::id()));
    /// # let _ = std::fs::remove_file(&p);
    /// let (store, loaded) = DurableReplica::<GCounter>::load_or_fresh(&p).unwrap();
    /// let mut store = store;
    /// let mut s = loaded.state;
    /// let d = s.increment(loaded.id, 1);
    /// store.append(1, &d, &s, &Default::default()).unwrap();
    /// assert_eq!(store.log_entries(), 1);
    /// ```
    pub fn log_entries(&self) -> u64 {
        self.log_entries
    }

    /// Saves `delta` (already joined into `state`) and the engine's sequence number `seq` in one
    /// transaction, durable when this returns. Writes the delta (`O(delta)`), or, when the log
    /// is due for compaction, `state` (`O(state)`) and clears the log.
    ///
    /// # Errors
    ///
    /// [`StoreError::Db`] if the transaction failed; nothing was written then.
    ///
    /// ```
    /// # use convergent::{GCounter, Lattice};
    /// # use convergent_net::DurableReplica;
    /// # let p = std::env::temp_dir().join(format!("doc-{}-{}.redb", line!(), std::process::id()));
    /// # let _ = std::fs::remove_file(&p);
    /// let (store, loaded) = DurableReplica::<GCounter>::load_or_fresh(&p).unwrap();
    /// let mut store = store;
    /// let mut s = loaded.state;
    /// let d = s.increment(loaded.id, 1);
    /// let cost = store.append(1, &d, &s, &Default::default()).unwrap();
    /// assert!(!cost.compacted && cost.bytes < 40);
    /// ```
    pub fn append(
        &mut self,
        seq: u64,
        delta: &L,
        state: &L,
        record: &SyncRecord,
    ) -> Result<SaveCost, StoreError> {
        let delta_bytes = wire::to_bytes(delta);
        let record = postcard::to_allocvec(record).map_err(|_| StoreError::Corrupt("sync record"))?;
        let compact = self.log_entries + 1 > self.compact_every
            || self.log_bytes + delta_bytes.len() as u64 > self.state_bytes.max(4096);
        if compact {
            return self.compact_record(seq, state, &record);
        }
        let entry = self.next_entry;
        let value = log_entry(seq, &record, &delta_bytes);
        // One table touched: the entry carries the sequence number and the sync record (fewer
        // pages per commit than updating them in the meta table).
        let tx = self.db.begin_write()?;
        tx.open_table(LOG)?.insert(entry, &value[..])?;
        tx.commit()?;
        self.next_entry += 1;
        self.log_entries += 1;
        self.log_bytes += value.len() as u64;
        Ok(SaveCost { bytes: value.len() as u64, compacted: false })
    }

    /// Saves `state` whole and clears the log, in one transaction: for a state that is not the
    /// join of the saved one and a delta (a retired replica id purged from it, see
    /// [`Prune`](convergent::Prune)), whose log must not be replayed. `O(state)`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Db`] if the transaction failed; nothing was written then.
    ///
    /// ```
    /// # use convergent::{GCounter, Lattice};
    /// # use convergent_net::DurableReplica;
    /// # let p = std::env::temp_dir().join(format!("doc-{}-{}.redb", line!(), std::process::id()));
    /// # let _ = std::fs::remove_file(&p);
    /// let (mut store, loaded) = DurableReplica::<GCounter>::load_or_fresh(&p).unwrap();
    /// let mut s = loaded.state;
    /// let _ = s.increment(loaded.id, 1);
    /// assert!(store.replace_state(1, &s, &Default::default()).unwrap().compacted);
    /// assert_eq!(store.log_entries(), 0);
    /// ```
    pub fn replace_state(
        &mut self,
        seq: u64,
        state: &L,
        record: &SyncRecord,
    ) -> Result<SaveCost, StoreError> {
        let record = postcard::to_allocvec(record).map_err(|_| StoreError::Corrupt("sync record"))?;
        self.compact_record(seq, state, &record)
    }

    /// Saves the engine's retirement records
    /// ([`SyncEngine::retirement_records`](convergent::sync::SyncEngine::retirement_records)),
    /// replacing the saved ones, in one transaction: a heir that crashes before every neighbour
    /// acknowledged its record sends it again after the restart. `O(records)`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Db`] if the transaction failed; nothing was written then.
    ///
    /// ```
    /// # use convergent::{GCounter, Lattice, ReplicaId};
    /// # use convergent::sync::Retirement;
    /// # use convergent_net::DurableReplica;
    /// # let p = std::env::temp_dir().join(format!("doc-{}-{}.redb", line!(), std::process::id()));
    /// # let _ = std::fs::remove_file(&p);
    /// let (mut store, loaded) = DurableReplica::<GCounter>::load_or_fresh(&p).unwrap();
    /// let rec = Retirement { retired: ReplicaId::from_u128(7), heir: loaded.id, fold: GCounter::bottom() };
    /// store.save_retirements(&[rec.clone()]).unwrap();
    /// drop(store);
    /// let (_, again) = DurableReplica::<GCounter>::load_or_fresh(&p).unwrap();
    /// assert_eq!(again.retirements, vec![rec]);
    /// ```
    pub fn save_retirements(&mut self, records: &[Retirement<L>]) -> Result<SaveCost, StoreError>
    where
        L: Clone,
    {
        let bytes = RetireMessage::Records(records.to_vec()).to_bytes();
        self.write(|meta, _| {
            meta.insert("retirements", &bytes[..])?;
            Ok(())
        })?;
        Ok(SaveCost { bytes: bytes.len() as u64, compacted: false })
    }

    /// Saves the engine's retirement marks
    /// ([`SyncEngine::retirement_marks`](convergent::sync::SyncEngine::retirement_marks)),
    /// replacing the saved ones, in one transaction: a replica that followed another owner's mark
    /// and restarts still knows it did, and never starts (and folds) a competing mark of the same
    /// id. `O(marks × members)`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Db`] if the transaction failed; nothing was written then.
    ///
    /// ```
    /// # use convergent::{GCounter, ReplicaId};
    /// # use convergent::sync::{MarkState, RetireMark};
    /// # use convergent_net::DurableReplica;
    /// # let p = std::env::temp_dir().join(format!("doc-{}-{}.redb", line!(), std::process::id()));
    /// # let _ = std::fs::remove_file(&p);
    /// let (mut store, loaded) = DurableReplica::<GCounter>::load_or_fresh(&p).unwrap();
    /// let owner = ReplicaId::from_u128(2);
    /// let mark = RetireMark { retired: ReplicaId::from_u128(7), owner, state: MarkState::Seen(vec![owner, loaded.id]) };
    /// store.save_retirement_marks(&[mark.clone()]).unwrap();
    /// drop(store);
    /// let (_, again) = DurableReplica::<GCounter>::load_or_fresh(&p).unwrap();
    /// assert_eq!(again.marks, vec![mark]);
    /// ```
    pub fn save_retirement_marks(&mut self, marks: &[RetireMark]) -> Result<SaveCost, StoreError> {
        let bytes = RetireMessage::<L>::Marks(marks.to_vec()).to_bytes();
        self.write(|meta, _| {
            meta.insert("marks", &bytes[..])?;
            Ok(())
        })?;
        Ok(SaveCost { bytes: bytes.len() as u64, compacted: false })
    }

    fn compact_record(&mut self, seq: u64, state: &L, record: &[u8]) -> Result<SaveCost, StoreError> {
        let state_bytes = wire::to_bytes(state);
        self.write(|meta, log| {
            meta.insert("seq", &seq.to_le_bytes()[..])?;
            meta.insert("state", &state_bytes[..])?;
            meta.insert("record", record)?;
            log.retain(|_, _| false)?;
            Ok(())
        })?;
        self.log_entries = 0;
        self.log_bytes = 0;
        self.state_bytes = state_bytes.len() as u64;
        Ok(SaveCost { bytes: (state_bytes.len() + record.len()) as u64 + 8, compacted: true })
    }

    fn write(
        &self,
        f: impl FnOnce(
            &mut redb::Table<'_, &'static str, &'static [u8]>,
            &mut redb::Table<'_, u64, &'static [u8]>,
        ) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let tx = self.db.begin_write()?;
        {
            let mut meta = tx.open_table(META)?;
            let mut log = tx.open_table(LOG)?;
            f(&mut meta, &mut log)?;
            debug_assert!(log.len().is_ok());
        }
        tx.commit()?;
        Ok(())
    }
}
