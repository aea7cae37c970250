-- A project's row carries its visible image and video counts and its thumbnail (the topmost
-- visible image with an asset), read on every open and every listing. Without an index each
-- was a scan of the project's elements, three per project: 370 ms of opening a 100,000-element
-- canvas, and as much for every listing that holds such a project. Counting now reads a
-- compact covering index, and the thumbnail is the last entry of a partial one.
CREATE INDEX elements_counts ON elements (project_id, visible, kind);
CREATE INDEX elements_thumbnail ON elements (project_id, json_extract(props, '$.z'))
    WHERE visible = 1 AND kind = 'image' AND json_extract(props, '$.assetId') IS NOT NULL;
