-- bookd schema version 6, PostgreSQL (as ../0006_book_revisions.sql): books that grow (issue 13,
-- README.md "Updated books").
--
-- Early-release titles gain chapters for months. Each catalogue row now keeps what the service
-- said of the book when it was archived: virtual_pages (the book metadata's count) and issued
-- (the listing's date, else the metadata's publication_date; as the service spells it). A watch
-- whose listing shows more pages or a later date queues the book again. revision counts the files
-- the row has named (1 for the first), previous_sha256 is the content the last replacement
-- replaced. Rows of an older bookd know neither: NULL.
ALTER TABLE books ADD COLUMN virtual_pages integer CHECK (virtual_pages IS NULL OR virtual_pages >= 0);
ALTER TABLE books ADD COLUMN issued text;
ALTER TABLE books ADD COLUMN revision integer NOT NULL DEFAULT 1 CHECK (revision >= 1);
ALTER TABLE books ADD COLUMN previous_sha256 text;

-- Runs of a watch that failed in a row: the next one comes sooner than a period, with backoff
-- (src/db/watches.ts); 0 again after a run that worked.
ALTER TABLE watches ADD COLUMN failures integer NOT NULL DEFAULT 0 CHECK (failures >= 0);
