-- requires: vector
-- Face embeddings (L2-normalised) for clustering and people search. The column has no fixed dimension
-- because the recognition model decides it (128 for MobileFaceNet, 512 for ArcFace-style models);
-- each supported dimension gets its own partial HNSW index (cosine), used by queries that cast to it.
create table face_search (
  face_id uuid primary key references asset_faces(id) on delete cascade,
  embedding vector not null
);
create index face_search_128_idx on face_search using hnsw ((embedding::vector(128)) vector_cosine_ops) where vector_dims(embedding) = 128;
create index face_search_512_idx on face_search using hnsw ((embedding::vector(512)) vector_cosine_ops) where vector_dims(embedding) = 512;
