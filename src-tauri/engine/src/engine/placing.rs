//! Placing, duplicating and reordering elements of [`Engine`]: the one home of these rules,
//! called by the desktop shell's canvas commands and by the `iskra` CLI alike. Files placed
//! together land side by side around a point ([`crate::layout::arrange`]), each asset at its
//! natural size ([`NewElement::for_asset`]), on top of the canvas (keys from
//! [`crate::zorder`]), as one undo step.

use super::edits::{Edit, EditReceipt};
use super::{Engine, NewElement};
use crate::error::{EngineError, Result};
use crate::layout::arrange;
use crate::store::assets::AssetRecord;
use crate::zorder::{reorder, ZOrderMove};
use iskra_protocol::Element;
use serde_json::{Map, Value};
use std::collections::HashSet;
use uuid::Uuid;

impl Engine {
    /// Places cached assets with the block of them centred on (`cx`, `cy`) (one asset: its
    /// centre there), on top, as ONE undo step; returns the new elements. Nothing to place
    /// answers an empty list and writes nothing.
    pub fn place_assets(
        &self,
        project: Uuid,
        assets: &[AssetRecord],
        cx: f64,
        cy: f64,
    ) -> Result<(Vec<Element>, EditReceipt)> {
        if assets.is_empty() {
            self.project(project)?;
            return Ok((Vec::new(), EditReceipt::default()));
        }
        let sizes: Vec<(f64, f64)> = assets.iter().map(super::asset_size).collect();
        let news: Vec<NewElement> = assets
            .iter()
            .zip(arrange(&sizes, cx, cy))
            .map(|(a, (x, y))| NewElement::for_asset(a, x, y))
            .collect();
        self.add_elements(project, &news)
    }

    /// Copies visible elements, moved by (`dx`, `dy`), on top in their stacking order, as ONE
    /// undo step; returns the copies, lowest first.
    pub fn duplicate_elements(
        &self,
        project: Uuid,
        ids: &[Uuid],
        dx: f64,
        dy: f64,
    ) -> Result<(Vec<Element>, EditReceipt)> {
        let canvas = self.open_project(project)?.canvas;
        let mut sources = ids
            .iter()
            .map(|id| {
                canvas
                    .elements
                    .iter()
                    .find(|e| e.id == *id)
                    .ok_or(EngineError::ElementNotFound(*id))
            })
            .collect::<Result<Vec<&Element>>>()?;
        sources.sort_by(|a, b| a.z.cmp(&b.z));
        let news: Vec<NewElement> = sources
            .into_iter()
            .map(|e| NewElement {
                kind: e.kind,
                asset_id: e.asset_id.clone(),
                x: e.x + dx,
                y: e.y + dy,
                width: e.width,
                height: e.height,
                rotation: e.rotation,
                locked: e.locked,
                playback: e.playback.clone(),
                generation_id: e.generation_id,
            })
            .collect();
        if news.is_empty() {
            return Ok((Vec::new(), EditReceipt::default()));
        }
        self.add_elements(project, &news)
    }

    /// Moves visible elements in the stacking order ([`reorder`]) as one undo step; an empty
    /// receipt when they are already where `how` puts them.
    pub fn reorder_elements(
        &self,
        project: Uuid,
        ids: &[Uuid],
        how: ZOrderMove,
    ) -> Result<EditReceipt> {
        let canvas = self.open_project(project)?.canvas;
        let moved: HashSet<Uuid> = ids.iter().copied().collect();
        if let Some(id) = moved
            .iter()
            .find(|id| !canvas.elements.iter().any(|e| e.id == **id))
        {
            return Err(EngineError::ElementNotFound(*id));
        }
        let edits: Vec<Edit> = reorder(&canvas.elements, &moved, how)?
            .into_iter()
            .map(|(element_id, z)| {
                let mut props = Map::new();
                props.insert("z".into(), Value::String(z));
                Edit::Set { element_id, props }
            })
            .collect();
        if edits.is_empty() {
            return Ok(EditReceipt::default());
        }
        self.apply(project, &edits)
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::tests::engine;
    use crate::media::tests::PNG_1X1;
    use crate::zorder::ZOrderMove;
    use iskra_protocol::Element;
    use uuid::Uuid;

    /// An element without its id, to compare two placements.
    fn shape(e: &Element) -> Element {
        Element {
            id: Uuid::nil(),
            ..e.clone()
        }
    }

    /// The app's canvas commands call `place_assets` with the drop point; the CLI's
    /// `add-image` calls `add_media` with its `--x/--y`. Same file, same point: same elements,
    /// same keys, the second on top of the first — on two devices driven each way.
    #[test]
    fn the_app_and_the_cli_place_and_order_alike() {
        let (app, dir_a) = engine();
        let (cli, dir_b) = engine();
        let file_a = dir_a.path().join("dot.png");
        let file_b = dir_b.path().join("dot.png");
        std::fs::write(&file_a, PNG_1X1).unwrap();
        std::fs::write(&file_b, PNG_1X1).unwrap();
        let pa = app.create_project(None).unwrap().id;
        let pb = cli.create_project(None).unwrap().id;
        let mut placed_app = Vec::new();
        let mut placed_cli = Vec::new();
        for (x, y) in [(10.0, 20.0), (-5.0, 3.5)] {
            let (asset, _) = app.import_asset(&file_a).unwrap();
            let (els, _) = app.place_assets(pa, &[asset], x, y).unwrap();
            placed_app.extend(els);
            placed_cli.push(cli.add_media(pb, &file_b, x, y).unwrap());
        }
        let a: Vec<Element> = placed_app.iter().map(shape).collect();
        let b: Vec<Element> = placed_cli.iter().map(shape).collect();
        assert_eq!(a, b);
        // Centred on the point, natural size, on top of each other.
        assert_eq!((a[0].x, a[0].y, a[0].width), (9.5, 19.5, 1.0));
        assert_eq!((a[0].z.as_str(), a[1].z.as_str()), ("a0", "a1"));
        // Reordering and duplicating go through the same engine calls as well.
        let ids_a: Vec<Uuid> = placed_app.iter().map(|e| e.id).collect();
        let ids_b: Vec<Uuid> = placed_cli.iter().map(|e| e.id).collect();
        app.reorder_elements(pa, &ids_a[1..], ZOrderMove::Back)
            .unwrap();
        cli.reorder_elements(pb, &ids_b[1..], ZOrderMove::Back)
            .unwrap();
        let (da, _) = app.duplicate_elements(pa, &ids_a, 5.0, 5.0).unwrap();
        let (db, _) = cli.duplicate_elements(pb, &ids_b, 5.0, 5.0).unwrap();
        let canvas = |e: &crate::Engine, p| {
            let mut els: Vec<Element> = e.open_project(p).unwrap().canvas.elements;
            els.sort_by(|x, y| x.z.cmp(&y.z));
            els.iter().map(shape).collect::<Vec<_>>()
        };
        assert_eq!(canvas(&app, pa), canvas(&cli, pb));
        assert_eq!(da.len(), 2);
        assert_eq!(
            db.iter().map(shape).collect::<Vec<_>>(),
            da.iter().map(shape).collect::<Vec<_>>()
        );
        // Above everything (the top is "a0" once the other went to the back).
        assert!(da.iter().all(|e| e.z.as_str() > "a0"));
    }

    #[test]
    fn several_assets_land_side_by_side_as_one_undo_step() {
        let (e, dir) = engine();
        let file = dir.path().join("dot.png");
        std::fs::write(&file, PNG_1X1).unwrap();
        let p = e.create_project(None).unwrap().id;
        let (asset, _) = e.import_asset(&file).unwrap();
        let (els, _) = e
            .place_assets(p, &[asset.clone(), asset], 0.0, 0.0)
            .unwrap();
        assert_eq!(els.len(), 2);
        assert!(els[0].x < els[1].x, "side by side");
        assert!(els[0].z < els[1].z);
        e.undo(p).unwrap();
        assert!(e.open_project(p).unwrap().canvas.elements.is_empty());
        assert!(e.place_assets(p, &[], 0.0, 0.0).unwrap().0.is_empty());
    }
}
