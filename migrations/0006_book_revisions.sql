-- bookd schema version 6: books that grow (issue 13, README.md "Updated books").
--
-- Early-release titles gain chapters for months. Each catalogue row now keeps what the service
-- said of the book when it was archived: virtual_pages (the book metadata's count) and issued
-- (the listing's date, else the metadata's publication_date; as the service spells it). A watch
-- whose listing shows more pages or a later date queues the book again. revision counts the files
-- the row has named (1 for the first), previous_sha256 is the content the last replacement
-- replaced. Rows of an older bookd know neither: NULL, and the first listing that shows the book
-- fills issued in without fetching it again (src/jobs/discover.ts).
ALTER TABLE books ADD COLUMN virtual_pages INTEGER CHECK (virtual_pages IS NULL OR virtual_pages >= 0);
ALTER TABLE books ADD COLUMN issued TEXT;
ALTER TABLE books ADD COLUMN revision INTEGER NOT NULL DEFAULT 1 CHECK (revision >= 1);
ALTER TABLE books ADD COLUMN previous_sha256 TEXT;

-- Runs of a watch that failed in a row: the next one comes sooner than a period, with backoff
-- (src/db/watches.ts); 0 again after a run that worked.
ALTER TABLE watches ADD COLUMN failures INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0);
