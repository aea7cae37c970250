//! Credit settings (S8): each plan's allocation per period and the pricing formula
//! `base(kind) × size multiplier × model multiplier × count`, rounded up to whole credits
//! (videos count seconds instead of outputs). One definition: submit reserves with it, the
//! worker charges with it, and `GET /v1/credits/estimate` shows it before a click.

use iskra_protocol::{GenerationKind, Tier};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Credits allocated per period, by plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plans {
    pub free: i64,
    pub pro: i64,
    pub enterprise: i64,
}

impl Plans {
    pub fn get(&self, tier: Tier) -> i64 {
        match tier {
            Tier::Free => self.free,
            Tier::Pro => self.pro,
            Tier::Enterprise => self.enterprise,
        }
    }
}

/// Base credits of one output (images) or one second (videos), by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaseCosts {
    pub text_to_image: f64,
    pub image_to_image: f64,
    /// Per second of video.
    pub image_to_video: f64,
}

/// The pricing formula's factors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pricing {
    pub base: BaseCosts,
    /// Multiplier per fal image size; sizes not listed count 1.
    pub sizes: BTreeMap<String, f64>,
    /// Multiplier per model id (quality); models not listed count 1.
    pub models: BTreeMap<String, f64>,
    /// Seconds of video priced when a request names no duration.
    pub default_video_seconds: u32,
}

/// Everything the credits ledger tunes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreditSettings {
    pub plans: Plans,
    pub pricing: Pricing,
}

impl Default for CreditSettings {
    fn default() -> Self {
        let map = |pairs: &[(&str, f64)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect::<BTreeMap<_, _>>()
        };
        Self {
            plans: Plans {
                free: 100,
                pro: 2_000,
                enterprise: 10_000,
            },
            pricing: Pricing {
                base: BaseCosts {
                    text_to_image: 2.0,
                    image_to_image: 3.0,
                    image_to_video: 8.0,
                },
                sizes: map(&[
                    ("square", 1.0),
                    ("square_hd", 1.5),
                    ("portrait_4_3", 1.25),
                    ("portrait_16_9", 1.25),
                    ("landscape_4_3", 1.25),
                    ("landscape_16_9", 1.25),
                ]),
                models: map(&[
                    ("fal-ai/flux/dev", 1.0),
                    ("fal-ai/flux/dev/image-to-image", 1.0),
                    ("fal-ai/kling-video/v2.1/standard/image-to-video", 1.0),
                ]),
                default_video_seconds: 5,
            },
        }
    }
}

/// What a generation is priced on.
#[derive(Debug, Clone, Copy)]
pub struct PriceInput<'a> {
    pub kind: GenerationKind,
    pub model: &'a str,
    /// The requested size, or the model's default.
    pub image_size: Option<&'a str>,
    /// Outputs (images), ignored for videos.
    pub count: u32,
    /// Seconds (videos).
    pub duration_s: Option<u32>,
}

impl Pricing {
    /// The price in whole credits (at least 1 for anything produced, 0 for nothing).
    pub fn price(&self, p: PriceInput<'_>) -> i64 {
        let (base, units) = match p.kind {
            GenerationKind::TextToImage => (self.base.text_to_image, p.count),
            GenerationKind::ImageToImage => (self.base.image_to_image, p.count),
            GenerationKind::ImageToVideo => (
                self.base.image_to_video,
                if p.count == 0 {
                    0
                } else {
                    p.duration_s.unwrap_or(self.default_video_seconds)
                },
            ),
        };
        if units == 0 {
            return 0;
        }
        let size = p
            .image_size
            .and_then(|s| self.sizes.get(s))
            .copied()
            .unwrap_or(1.0);
        let model = self.models.get(p.model).copied().unwrap_or(1.0);
        let raw = base * size * model * f64::from(units);
        // Round away float noise (1.5 × 3 = 4.500000001) before rounding up.
        let credits = ((raw * 1000.0).round() / 1000.0).ceil();
        (credits as i64).max(1)
    }

    /// Checks the factors: all finite and positive.
    pub fn validate(&self) -> Result<(), String> {
        let b = &self.base;
        let factors = [b.text_to_image, b.image_to_image, b.image_to_video]
            .into_iter()
            .chain(self.sizes.values().copied())
            .chain(self.models.values().copied());
        for f in factors {
            if !f.is_finite() || f <= 0.0 || f > 1e6 {
                return Err(format!(
                    "credits.pricing: every factor must be positive and finite, not {f}"
                ));
            }
        }
        Ok(())
    }
}

impl CreditSettings {
    pub fn validate(&self) -> Result<(), String> {
        let p = self.plans;
        if p.free < 0 || p.pro < 0 || p.enterprise < 0 {
            return Err("credits.plans: allocations cannot be negative".into());
        }
        self.pricing.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(kind: GenerationKind, size: Option<&str>, count: u32) -> PriceInput<'_> {
        PriceInput {
            kind,
            model: "fal-ai/flux/dev",
            image_size: size,
            count,
            duration_s: None,
        }
    }

    #[test]
    fn the_formula_multiplies_and_rounds_up() {
        let p = CreditSettings::default().pricing;
        let t2i = GenerationKind::TextToImage;
        assert_eq!(p.price(input(t2i, Some("square"), 1)), 2);
        assert_eq!(p.price(input(t2i, Some("square_hd"), 1)), 3);
        assert_eq!(p.price(input(t2i, Some("square_hd"), 4)), 12);
        assert_eq!(p.price(input(t2i, Some("landscape_4_3"), 1)), 3);
        assert_eq!(p.price(input(t2i, Some("landscape_4_3"), 2)), 5);
        assert_eq!(p.price(input(t2i, None, 0)), 0);
        let video = PriceInput {
            kind: GenerationKind::ImageToVideo,
            model: "fal-ai/kling-video/v2.1/standard/image-to-video",
            image_size: None,
            count: 1,
            duration_s: Some(10),
        };
        assert_eq!(p.price(video), 80);
        assert_eq!(
            p.price(PriceInput {
                duration_s: None,
                ..video
            }),
            40
        );
        CreditSettings::default().validate().unwrap();
    }
}
