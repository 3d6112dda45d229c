-- Apple's BurstUUID (maker note) shared by the shots of one iPhone burst: `immich stack auto --bursts`.
alter table exif add column burst_id text;
create index exif_burst_idx on exif (burst_id) where burst_id is not null;
