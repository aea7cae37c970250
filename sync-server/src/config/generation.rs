//! Generation settings (S7): the job workers' timing, per-tier concurrency, the circuit
//! breaker in front of fal, and the model catalogue with each model's input mapping.
//!
//! The catalogue is configuration, not code: `GET /v1/models` lists it, submit accepts only its
//! ids, and the worker builds fal's input from the mapping, so adding a model is a TOML edit.

use iskra_protocol::{GenerationKind, ModelInfo, Tier};
use serde::{Deserialize, Serialize};

/// How a model's fal input is named: each field is the input key for that value, or absent
/// when the model does not take it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputMapping {
    pub prompt: String,
    #[serde(default)]
    pub image_size: Option<String>,
    #[serde(default)]
    pub num_images: Option<String>,
    #[serde(default)]
    pub image_url: Option<String>,
    #[serde(default)]
    pub seed: Option<String>,
    #[serde(default)]
    pub duration: Option<String>,
}

/// One model of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// fal's model id, e.g. `fal-ai/flux/dev`.
    pub id: String,
    pub kind: GenerationKind,
    pub label: String,
    /// The kind's default (the first model of a kind when none says so).
    #[serde(default)]
    pub default: bool,
    pub max_images: u32,
    pub sizes: Vec<String>,
    pub input: InputMapping,
}

impl ModelConfig {
    pub fn info(&self) -> ModelInfo {
        ModelInfo {
            id: self.id.clone(),
            kind: self.kind,
            label: self.label.clone(),
            default: self.default,
            max_images: self.max_images,
            sizes: self.sizes.clone(),
        }
    }
}

/// Running generations per user, by tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Concurrency {
    pub free: i64,
    pub pro: i64,
    pub enterprise: i64,
}

impl Concurrency {
    pub fn get(&self, tier: Tier) -> i64 {
        match tier {
            Tier::Free => self.free,
            Tier::Pro => self.pro,
            Tier::Enterprise => self.enterprise,
        }
    }
}

/// Everything the generation pipeline tunes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationSettings {
    /// Worker tasks per server process.
    pub workers: usize,
    /// Longest claim a worker holds on a job before another may take it over (renewed while
    /// it works).
    pub lease_secs: u64,
    /// Pause between status polls of a job at fal when no webhook is expected.
    pub poll_interval_ms: u64,
    /// Pause between fallback polls when a webhook is expected (`ISKRA_PUBLIC_URL` set).
    pub webhook_poll_secs: u64,
    /// A job running longer than this fails with `STUCK`.
    pub stuck_after_secs: u64,
    /// Consecutive transient fal failures that open the circuit.
    pub circuit_failures: u32,
    /// How long the circuit stays open before fal is tried again.
    pub circuit_open_secs: u64,
    /// Timeout of one HTTP request to fal.
    pub fal_timeout_secs: u64,
    /// Inputs up to this size go to fal inline as a `data:` URI; larger ones through fal's
    /// storage upload (when no public URL is configured).
    pub max_inline_input_bytes: u64,
    pub concurrency: Concurrency,
    pub models: Vec<ModelConfig>,
}

fn model(
    id: &str,
    kind: GenerationKind,
    label: &str,
    max_images: u32,
    sizes: &[&str],
    input: InputMapping,
) -> ModelConfig {
    ModelConfig {
        id: id.into(),
        kind,
        label: label.into(),
        default: true,
        max_images,
        sizes: sizes.iter().map(|s| (*s).to_owned()).collect(),
        input,
    }
}

/// fal's named image sizes.
const IMAGE_SIZES: &[&str] = &[
    "square_hd",
    "square",
    "portrait_4_3",
    "portrait_16_9",
    "landscape_4_3",
    "landscape_16_9",
];

impl Default for GenerationSettings {
    fn default() -> Self {
        let image_input = |image_url: Option<&str>| InputMapping {
            prompt: "prompt".into(),
            image_size: Some("image_size".into()),
            num_images: Some("num_images".into()),
            image_url: image_url.map(str::to_owned),
            seed: Some("seed".into()),
            duration: None,
        };
        Self {
            workers: 8,
            lease_secs: 30,
            poll_interval_ms: 1_000,
            webhook_poll_secs: 30,
            stuck_after_secs: 600,
            circuit_failures: 5,
            circuit_open_secs: 30,
            fal_timeout_secs: 30,
            max_inline_input_bytes: 3_000_000,
            concurrency: Concurrency {
                free: 1,
                pro: 3,
                enterprise: 10,
            },
            models: vec![
                model(
                    "fal-ai/flux/dev",
                    GenerationKind::TextToImage,
                    "FLUX.1 [dev]",
                    4,
                    IMAGE_SIZES,
                    image_input(None),
                ),
                model(
                    "fal-ai/flux/dev/image-to-image",
                    GenerationKind::ImageToImage,
                    "FLUX.1 [dev] image to image",
                    4,
                    IMAGE_SIZES,
                    image_input(Some("image_url")),
                ),
                model(
                    "fal-ai/kling-video/v2.1/standard/image-to-video",
                    GenerationKind::ImageToVideo,
                    "Kling 2.1 Standard",
                    1,
                    &[],
                    InputMapping {
                        prompt: "prompt".into(),
                        image_size: None,
                        num_images: None,
                        image_url: Some("image_url".into()),
                        seed: None,
                        duration: Some("duration".into()),
                    },
                ),
            ],
        }
    }
}

impl GenerationSettings {
    /// The model `id` of `kind`, or the kind's default when `id` is `None`; `None` when the
    /// catalogue has no such model for that kind.
    pub fn model(&self, kind: GenerationKind, id: Option<&str>) -> Option<&ModelConfig> {
        let of_kind = || self.models.iter().filter(move |m| m.kind == kind);
        match id {
            Some(id) => of_kind().find(|m| m.id == id),
            None => of_kind().find(|m| m.default).or_else(|| of_kind().next()),
        }
    }

    /// The model with this id, whatever its kind.
    pub fn model_by_id(&self, id: &str) -> Option<&ModelConfig> {
        self.models.iter().find(|m| m.id == id)
    }

    /// Checks the catalogue: every kind has a model, ids are unique, counts are sensible.
    pub fn validate(&self) -> Result<(), String> {
        for kind in GenerationKind::ALL {
            if self.model(kind, None).is_none() {
                return Err(format!("generation.models has no {} model", kind.as_str()));
            }
        }
        for (i, m) in self.models.iter().enumerate() {
            if self.models[..i].iter().any(|o| o.id == m.id) {
                return Err(format!("generation.models lists {} twice", m.id));
            }
            if m.max_images == 0 || m.max_images > iskra_protocol::MAX_NUM_IMAGES {
                return Err(format!("{}: max_images must be 1 to 4", m.id));
            }
        }
        if self.workers == 0 || self.lease_secs == 0 || self.circuit_failures == 0 {
            return Err(
                "generation: workers, lease_secs and circuit_failures must be positive".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_have_a_model_per_kind() {
        let g = GenerationSettings::default();
        g.validate().unwrap();
        assert_eq!(
            g.model(GenerationKind::TextToImage, None).unwrap().id,
            "fal-ai/flux/dev"
        );
        assert!(g
            .model(
                GenerationKind::TextToImage,
                Some("fal-ai/flux/dev/image-to-image")
            )
            .is_none());
        assert_eq!(g.concurrency.get(Tier::Pro), 3);
    }
}
