//! A bench user paying for jobs, one ledger movement per operation, through
//! `Store::move_credits` with the server's own decisions: a reserve of the job's price
//! (`account::reserve`, refused when the balance cannot cover it), then its charge
//! (`account::settle` spending the whole hold). Reserve and charge share the cause
//! `bench:USER:N`, as a generation's hold and settlement share `generation:ID` — the same
//! `move_credits_in` that `insert_generation_holding` and a job's final phase run, without
//! the job row.

use crate::load::Client;
use anyhow::{bail, Result};
use iskra_server::credits::account::{self, Account};
use iskra_server::store::credits::{Decision, Moved};
use iskra_server::store::Store;
use std::sync::{Arc, Mutex};

/// A hold taken and not yet settled.
#[derive(Debug, Clone)]
pub struct Hold {
    cause: String,
    /// The part of the hold taken from grants (given back there on a release).
    from_grants: i64,
}

/// What a user's movements did so far.
#[derive(Debug, Default)]
pub struct Tally {
    /// Ledger movements applied (reserves, charges, releases).
    pub movements: u64,
    /// Credits charged.
    pub charged: i64,
    /// Jobs reserved so far (numbers the causes).
    jobs: u64,
    /// The hold awaiting its charge.
    open: Option<Hold>,
}

/// The decision of a reserve of `price`: the change and the part taken from grants, or a
/// refusal when the account cannot cover it.
pub fn hold(price: i64) -> impl FnOnce(&Account) -> Decision<i64> {
    move |acc| match account::reserve(acc, price) {
        Some((change, from_grants)) => Decision::Apply(change, from_grants),
        None => Decision::Refuse,
    }
}

/// A user reserving and charging jobs of `price`; clones share the tally.
#[derive(Clone)]
pub struct Payer {
    store: Store,
    pub user: String,
    price: i64,
    pub tally: Arc<Mutex<Tally>>,
}

impl Payer {
    pub fn new(store: Store, user: String, price: i64) -> Self {
        Self {
            store,
            user,
            price,
            tally: Arc::default(),
        }
    }

    /// Takes the hold of the next job.
    async fn reserve(&self) -> Result<Hold> {
        let cause = {
            let mut tally = self.tally.lock().unwrap();
            tally.jobs += 1;
            format!("bench:{}:{}", self.user, tally.jobs)
        };
        let moved = self
            .store
            .move_credits(&self.user, &cause, "bench job submitted", hold(self.price))
            .await?;
        match moved {
            Moved::Applied(_, from_grants) => Ok(Hold { cause, from_grants }),
            other => bail!("reserve {cause}: {other:?}"),
        }
    }

    /// Settles `hold`, charging `charged` of it and releasing the rest.
    async fn settle(&self, hold: &Hold, charged: i64) -> Result<()> {
        let (price, grants) = (self.price, hold.from_grants);
        let moved = self
            .store
            .move_credits(&self.user, &hold.cause, "bench job ended", |acc| {
                Decision::Apply(account::settle(acc, price, grants, charged), ())
            })
            .await?;
        if !matches!(moved, Moved::Applied(..)) {
            bail!("settle {}: {moved:?}", hold.cause);
        }
        Ok(())
    }

    /// Releases the hold left open when the run stopped between a reserve and its charge
    /// (a job canceled), so the account ends with nothing reserved.
    pub async fn release_open(&self) -> Result<()> {
        let open = self.tally.lock().unwrap().open.take();
        if let Some(hold) = open {
            self.settle(&hold, 0).await?;
            self.tally.lock().unwrap().movements += 1;
        }
        Ok(())
    }
}

impl Client for Payer {
    /// One movement: the reserve of a new job, or the charge of the one held.
    async fn once(&mut self) -> Result<u64> {
        let open = self.tally.lock().unwrap().open.take();
        match open {
            None => {
                let hold = self.reserve().await?;
                self.tally.lock().unwrap().open = Some(hold);
            }
            Some(hold) => {
                self.settle(&hold, self.price).await?;
                self.tally.lock().unwrap().charged += self.price;
            }
        }
        self.tally.lock().unwrap().movements += 1;
        Ok(1)
    }
}
