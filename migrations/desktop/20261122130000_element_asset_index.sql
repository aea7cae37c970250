-- The asset each visible element shows, indexed: deciding whether an upload is held back
-- (its image is only on canvases kept off the account) is then a lookup per upload instead
-- of a scan of every element, so outbox counts stay fast on canvases of thousands of images.
CREATE INDEX elements_visible_asset ON elements (json_extract(props, '$.assetId'))
    WHERE visible = 1;
