-- Each staff user may choose the back office's language (issue 11): '' is
-- the shop's own (tenants.language), which is what every user had before.
-- The CHECK keeps to the languages the message files have.
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT '' CHECK (language IN ('', 'en', 'ru', 'tr'));
