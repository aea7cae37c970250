//! Where files placed together land: one item is centred on the drop point; several are laid
//! out in rows (about as many columns as rows, at least three side by side) with a gap
//! between them, the whole block centred on the drop point — never stacked on one spot.

/// Gap between placed items, world units.
pub const GAP: f64 = 24.0;

/// Columns for `n` items: a row of up to three, then a roughly square grid.
fn columns(n: usize) -> usize {
    if n <= 3 {
        return n.max(1);
    }
    ((n as f64 * 1.5).sqrt().ceil() as usize).clamp(3, n)
}

/// Top-left corners for items of `sizes` (width, height), the block centred on `(cx, cy)`.
pub fn arrange(sizes: &[(f64, f64)], cx: f64, cy: f64) -> Vec<(f64, f64)> {
    let cols = columns(sizes.len());
    let rows: Vec<&[(f64, f64)]> = sizes.chunks(cols).collect();
    let row_width = |r: &[(f64, f64)]| {
        r.iter().map(|s| s.0).sum::<f64>() + GAP * r.len().saturating_sub(1) as f64
    };
    let row_height = |r: &[(f64, f64)]| r.iter().map(|s| s.1).fold(0.0, f64::max);
    let block_h =
        rows.iter().map(|r| row_height(r)).sum::<f64>() + GAP * rows.len().saturating_sub(1) as f64;
    let mut out = Vec::with_capacity(sizes.len());
    let mut y = cy - block_h / 2.0;
    for r in rows {
        // Each row is centred; items in it are centred on the row's middle line.
        let mut x = cx - row_width(r) / 2.0;
        let h = row_height(r);
        for &(w, ih) in r {
            out.push((x, y + (h - ih) / 2.0));
            x += w + GAP;
        }
        y += h + GAP;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlaps(a: (f64, f64, f64, f64), b: (f64, f64, f64, f64)) -> bool {
        a.0 < b.0 + b.2 && b.0 < a.0 + a.2 && a.1 < b.1 + b.3 && b.1 < a.1 + a.3
    }

    #[test]
    fn one_item_is_centred_on_the_point() {
        assert_eq!(
            arrange(&[(400.0, 300.0)], 100.0, 50.0),
            vec![(-100.0, -100.0)]
        );
    }

    #[test]
    fn three_items_sit_in_one_row_centred() {
        let at = arrange(&[(100.0, 100.0), (200.0, 50.0), (100.0, 100.0)], 0.0, 0.0);
        // 100 + 24 + 200 + 24 + 100 = 448 wide, centred on 0.
        assert_eq!(at, vec![(-224.0, -50.0), (-100.0, -25.0), (124.0, -50.0)]);
    }

    #[test]
    fn many_items_form_a_grid_without_overlap_around_the_point() {
        let sizes: Vec<(f64, f64)> = (0..10).map(|i| (100.0 + 10.0 * i as f64, 80.0)).collect();
        let at = arrange(&sizes, 500.0, 500.0);
        assert_eq!(at.len(), 10);
        let boxes: Vec<_> = at
            .iter()
            .zip(&sizes)
            .map(|(p, s)| (p.0, p.1, s.0, s.1))
            .collect();
        for (i, a) in boxes.iter().enumerate() {
            for b in &boxes[i + 1..] {
                assert!(!overlaps(*a, *b), "{a:?} overlaps {b:?}");
            }
        }
        let (min_x, max_x) = boxes.iter().fold((f64::MAX, f64::MIN), |(lo, hi), b| {
            (lo.min(b.0), hi.max(b.0 + b.2))
        });
        let (min_y, max_y) = boxes.iter().fold((f64::MAX, f64::MIN), |(lo, hi), b| {
            (lo.min(b.1), hi.max(b.1 + b.3))
        });
        assert!(((min_y + max_y) / 2.0 - 500.0).abs() < 1e-9);
        assert!((min_x + max_x) / 2.0 > 400.0 && (min_x + max_x) / 2.0 < 600.0);
        assert_eq!(columns(10), 4);
    }
}
