-- requires: vector
-- CLIP image embeddings for smart search, with the model that made them so a model change
-- re-embeds. The dimension follows the model: the application re-types the column (and rebuilds
-- the index) when a model with another dimension is used; 512 is ViT-B-32's.
create table smart_search (
  asset_id uuid primary key references assets(id) on delete cascade,
  model text not null,
  embedding vector(512) not null,
  updated_at timestamptz not null default now()
);
create index smart_search_embedding_idx on smart_search using hnsw (embedding vector_cosine_ops) with (m = 16, ef_construction = 200);
create index smart_search_model_idx on smart_search (model);
