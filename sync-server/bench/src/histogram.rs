//! A latency histogram as a PNG: bins of equal width up to just past the 99.9th percentile
//! (the rest counted in the caption), counts on a log scale so the tail stays visible, and
//! the p50 and p99 marked. Drawn by plotters into a buffer, text by `ab_glyph` with a TrueType
//! font of the system (DejaVu Sans, package `fonts-dejavu-core`), encoded by `image`.

use crate::load::percentile_ms;
use anyhow::{anyhow, Context, Result};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

/// Picture size, pixels.
const SIZE: (u32, u32) = (1200, 700);
/// Bins between zero and the right edge.
const BINS: usize = 80;
/// Where the system's fonts may be.
const FONTS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

/// The latencies of one run and what they were.
pub struct Histogram<'a> {
    /// The picture's title.
    pub title: String,
    /// Every latency, sorted.
    pub latencies: &'a [Duration],
}

/// Registers the system font as plotters' `sans-serif` (once per process).
fn font() -> Result<()> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    let registered = REGISTERED.get_or_init(|| {
        let path = FONTS
            .iter()
            .find(|p| Path::new(p).is_file())
            .ok_or_else(|| {
                format!("no DejaVu Sans font in {FONTS:?}; install fonts-dejavu-core")
            })?;
        let bytes = std::fs::read(path).map_err(|e| format!("reading {path}: {e}"))?;
        // Registered fonts live as long as the process.
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        register_font("sans-serif", FontStyle::Normal, bytes)
            .map_err(|_| format!("{path} is not a font plotters can read"))
    });
    registered.clone().map_err(|e| anyhow!(e))
}

impl Histogram<'_> {
    /// Draws the histogram into `path` (PNG).
    pub fn write_png(&self, path: &Path) -> Result<()> {
        anyhow::ensure!(!self.latencies.is_empty(), "no latencies to draw");
        font()?;
        let mut pixels = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
        self.draw(&mut pixels)
            .map_err(|e| anyhow!("drawing the histogram: {e}"))?;
        let picture = image::RgbImage::from_raw(SIZE.0, SIZE.1, pixels)
            .context("the picture buffer has the wrong size")?;
        picture
            .save(path)
            .with_context(|| format!("writing {}", path.display()))
    }

    /// Counts per bin of width `width` ms, and how many lie beyond the last bin.
    fn bins(&self, width: f64) -> (Vec<u64>, u64) {
        let mut counts = vec![0u64; BINS];
        let mut beyond = 0;
        for d in self.latencies {
            let bin = (d.as_secs_f64() * 1e3 / width) as usize;
            match counts.get_mut(bin) {
                Some(c) => *c += 1,
                None => beyond += 1,
            }
        }
        (counts, beyond)
    }

    fn draw(&self, pixels: &mut [u8]) -> Result<(), Box<dyn std::error::Error>> {
        let (p50, p99) = (
            percentile_ms(self.latencies, 0.50),
            percentile_ms(self.latencies, 0.99),
        );
        let right = (percentile_ms(self.latencies, 0.999) * 1.15).max(p99 * 1.5);
        let width = right / BINS as f64;
        let (counts, beyond) = self.bins(width);
        let top = counts.iter().copied().max().unwrap_or(1) as f64 * 2.0;

        let root = BitMapBackend::with_buffer(pixels, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let caption = format!(
            "{} pushes; p50 {p50:.2} ms, p99 {p99:.2} ms, max {:.2} ms; {beyond} beyond {right:.1} ms",
            self.latencies.len(),
            percentile_ms(self.latencies, 1.0),
        );
        let (head, body) = root.split_vertically(70);
        head.draw(&Text::new(
            self.title.clone(),
            (20, 12),
            ("sans-serif", 20).into_font(),
        ))?;
        head.draw(&Text::new(
            caption,
            (20, 42),
            ("sans-serif", 16).into_font().color(&RGBColor(90, 90, 90)),
        ))?;
        let mut chart = ChartBuilder::on(&body)
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..right, (0.8f64..top).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("latency of a push, ms")
            .y_desc("pushes (log scale)")
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 15))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        let bar = RGBColor(76, 110, 245).filled();
        chart.draw_series(
            counts
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(i, c)| {
                    let x = i as f64 * width;
                    Rectangle::new([(x, 0.8), (x + width * 0.9, *c as f64)], bar)
                }),
        )?;
        for (label, at, colour) in [("p50", p50, RGBColor(40, 160, 90)), ("p99", p99, RED)] {
            let style = colour.stroke_width(2);
            chart.draw_series([PathElement::new(vec![(at, 0.8), (at, top)], style)])?;
            chart.draw_series([Text::new(
                format!("{label} {at:.2} ms"),
                (at, top / 1.6),
                ("sans-serif", 15).into_font().color(&colour),
            )])?;
        }
        root.present()?;
        Ok(())
    }
}
