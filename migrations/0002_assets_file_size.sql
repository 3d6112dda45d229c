-- `immich import` looks up, once per run, the library assets that have the size of a file it is about
-- to import (a duplicate has the same size as its original) instead of one checksum lookup per file.
create index if not exists assets_file_size_idx on assets (file_size);
