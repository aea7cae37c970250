-- A project's snapshot is kept per element: each visible element as the snapshot materialised
-- it (wire Element JSON), beside the snapshot's row with the viewport and the journal position.
-- A pass then rewrites only the elements named by the journal rows it compacts, so its cost
-- follows what changed in the last 10 s, not the size of the canvas (a canvas of 100,000
-- elements was a 20 MB text rewritten, and the write lock held, for every pass).
CREATE TABLE snapshot_elements (
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    element_id  TEXT NOT NULL,
    element     TEXT NOT NULL,
    PRIMARY KEY (project_id, element_id)
) WITHOUT ROWID;

INSERT INTO snapshot_elements (project_id, element_id, element)
    SELECT s.project_id, json_extract(e.value, '$.id'), e.value
    FROM snapshots s, json_each(s.canvas, '$.elements') e;

ALTER TABLE snapshots ADD COLUMN viewport TEXT NOT NULL DEFAULT '{"x":0.0,"y":0.0,"scale":1.0}';
UPDATE snapshots SET viewport = json_extract(canvas, '$.viewport')
    WHERE json_type(canvas, '$.viewport') = 'object';
ALTER TABLE snapshots DROP COLUMN canvas;
