//! The arithmetic of a credit account, without I/O: what each movement does to the two
//! spendable buckets (the period's allocation, which expires; grants, which roll over) and to
//! the held credits. The store applies these under a row lock, so each computation sees the
//! account exactly as it is.
//!
//! Invariants (checked by the tests below and by the ledger tests): no bucket goes below zero,
//! the ledger's `amount`s sum to `allocation + grants` and its `held`s to `reserved`.

use iskra_protocol::LedgerKind;

/// A user's credits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Account {
    /// Unspent part of the period's allocation.
    pub allocation: i64,
    /// Granted credits (they roll over).
    pub grants: i64,
    /// Credits held by generations that have not ended.
    pub reserved: i64,
    /// The plan amount allocated in this period (a prorated upgrade tops up to the new plan).
    pub period_allocated: i64,
    /// End of the allocation period (Unix ms); 0 before the first allocation.
    pub period_end: i64,
}

impl Account {
    /// Credits that can be spent now.
    pub fn available(&self) -> i64 {
        self.allocation + self.grants
    }
}

/// One movement: its kind and its effect on the spendable balance and on the held credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Movement {
    pub kind: LedgerKind,
    pub amount: i64,
    pub held: i64,
}

/// An account after some movements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub after: Account,
    pub movements: Vec<Movement>,
}

/// A hold of `estimate` credits, taken from the allocation first (it expires sooner), then
/// from grants. `None` when the account cannot cover it. Returns the change and the part taken
/// from grants (kept with the generation, so a release returns each part to its bucket).
pub fn reserve(acc: &Account, estimate: i64) -> Option<(Change, i64)> {
    if estimate < 0 || acc.available() < estimate {
        return None;
    }
    let from_alloc = acc.allocation.min(estimate);
    let from_grants = estimate - from_alloc;
    let after = Account {
        allocation: acc.allocation - from_alloc,
        grants: acc.grants - from_grants,
        reserved: acc.reserved + estimate,
        ..*acc
    };
    let movements = vec![Movement {
        kind: LedgerKind::Reserve,
        amount: -estimate,
        held: estimate,
    }];
    Some((Change { after, movements }, from_grants))
}

/// Ends a hold of `estimate` (of which `hold_grants` came from grants): `charged` credits are
/// spent (the allocation part first), the rest goes back to the buckets it came from. A charge
/// above the estimate is capped at it: a price is never raised after the fact. A hold taken
/// before a new period began gives its allocation part back to the new period's allocation (a
/// job lasts seconds; the few credits this can add expire with that period).
pub fn settle(acc: &Account, estimate: i64, hold_grants: i64, charged: i64) -> Change {
    let charged = charged.clamp(0, estimate);
    let hold_grants = hold_grants.clamp(0, estimate);
    let hold_alloc = estimate - hold_grants;
    let charged_alloc = hold_alloc.min(charged);
    let charged_grants = charged - charged_alloc;
    let back = estimate - charged;
    let after = Account {
        allocation: acc.allocation + (hold_alloc - charged_alloc),
        grants: acc.grants + (hold_grants - charged_grants),
        reserved: (acc.reserved - estimate).max(0),
        ..*acc
    };
    let mut movements = Vec::new();
    if charged > 0 {
        movements.push(Movement {
            kind: LedgerKind::Charge,
            amount: 0,
            held: -charged,
        });
    }
    if back > 0 {
        movements.push(Movement {
            kind: LedgerKind::Release,
            amount: back,
            held: -back,
        });
    }
    Change { after, movements }
}

/// A new period: the unspent allocation expires and `plan` credits are allocated until
/// `period_end`.
pub fn new_period(acc: &Account, plan: i64, period_end: i64) -> Change {
    let mut movements = Vec::new();
    if acc.allocation > 0 {
        movements.push(Movement {
            kind: LedgerKind::Expire,
            amount: -acc.allocation,
            held: 0,
        });
    }
    movements.push(Movement {
        kind: LedgerKind::Allocation,
        amount: plan,
        held: 0,
    });
    let after = Account {
        allocation: plan,
        period_allocated: plan,
        period_end,
        ..*acc
    };
    Change { after, movements }
}

/// A prorated upgrade within the period: the allocation grows by what the new plan gives
/// beyond what this period already allocated (never a second full period).
pub fn top_up(acc: &Account, plan: i64) -> Change {
    let extra = (plan - acc.period_allocated).max(0);
    let after = Account {
        allocation: acc.allocation + extra,
        period_allocated: acc.period_allocated.max(plan),
        ..*acc
    };
    let movements = vec![Movement {
        kind: LedgerKind::Allocation,
        amount: extra,
        held: 0,
    }];
    Change { after, movements }
}

/// Granted credits (they roll over).
pub fn grant(acc: &Account, amount: i64) -> Change {
    let after = Account {
        grants: acc.grants + amount,
        ..*acc
    };
    let movements = vec![Movement {
        kind: LedgerKind::Grant,
        amount,
        held: 0,
    }];
    Change { after, movements }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn sums(moves: &[Movement]) -> (i64, i64) {
        moves
            .iter()
            .fold((0, 0), |(a, h), m| (a + m.amount, h + m.held))
    }

    #[test]
    fn reserve_takes_the_allocation_first_and_settle_gives_back_to_each_bucket() {
        let acc = Account {
            allocation: 5,
            grants: 10,
            ..Account::default()
        };
        assert!(reserve(&acc, 16).is_none());
        let (held, from_grants) = reserve(&acc, 8).unwrap();
        assert_eq!(from_grants, 3);
        assert_eq!((held.after.allocation, held.after.grants), (0, 7));
        assert_eq!(held.after.reserved, 8);
        // 6 produced: the allocation part (5) is spent first, 1 from grants, 2 go back to grants.
        let done = settle(&held.after, 8, from_grants, 6);
        assert_eq!((done.after.allocation, done.after.grants), (0, 9));
        assert_eq!(done.after.reserved, 0);
        // Nothing produced: everything goes back where it came from.
        let failed = settle(&held.after, 8, from_grants, 0);
        assert_eq!(
            (failed.after.allocation, failed.after.grants),
            (acc.allocation, acc.grants)
        );
    }

    #[test]
    fn periods_expire_the_rest_and_top_ups_never_double() {
        let acc = Account {
            allocation: 30,
            grants: 4,
            period_allocated: 100,
            ..Account::default()
        };
        let p = new_period(&acc, 2_000, 99);
        assert_eq!(p.after.available(), 2_004);
        assert_eq!(sums(&p.movements), (1_970, 0));
        let up = top_up(&acc, 2_000);
        assert_eq!(up.after.allocation, 30 + 1_900);
        assert_eq!(top_up(&up.after, 2_000).after.allocation, 1_930);
    }

    /// Random movements keep every bucket non-negative and the movements' sums equal to the
    /// account.
    #[test]
    fn random_movements_keep_the_invariants() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut acc = Account::default();
        let mut total = (0_i64, 0_i64);
        let mut holds: Vec<(i64, i64)> = Vec::new();
        for _ in 0..20_000 {
            let change = match rng.gen_range(0..10) {
                0 => new_period(&acc, rng.gen_range(0..200), 0),
                1 => top_up(&acc, rng.gen_range(0..300)),
                2 => grant(&acc, rng.gen_range(0..20)),
                3..=6 => match reserve(&acc, rng.gen_range(0..40)) {
                    Some((c, g)) => {
                        let est = c.movements[0].held;
                        holds.push((est, g));
                        c
                    }
                    None => continue,
                },
                _ if !holds.is_empty() => {
                    let (est, g) = holds.swap_remove(rng.gen_range(0..holds.len()));
                    settle(&acc, est, g, rng.gen_range(0..=est))
                }
                _ => continue,
            };
            let (a, h) = sums(&change.movements);
            total = (total.0 + a, total.1 + h);
            acc = change.after;
            assert!(acc.allocation >= 0 && acc.grants >= 0 && acc.reserved >= 0);
            assert_eq!(total, (acc.available(), acc.reserved));
        }
    }
}
