-- requires: vector
-- The CLIP index's build effort: pgvector's default ef_construction 64 instead of 200. At 100k
-- realistic embeddings (bench/scale) 200 took 3.5x as long to build (193 s vs 56 s) for the same
-- recall@10 at the search's hnsw.ef_search 100 (1.000); at 1M a 200 build did not finish in 42 min
-- on the shared 2-core machine. Only the option changes here: an existing graph is kept, and every
-- later insert, restore (pg_dump writes the option) and re-embedding builds with 64.
alter index if exists smart_search_embedding_idx set (ef_construction = 64);
