-- A stack's primary that went to the trash: the next member was promoted so the stack stays shown,
-- and this row remembers whom to give the role back to when the former primary is restored from the
-- trash. Gone when the user picks a primary (stack primary/create) or the former primary is purged.
create table stack_former_primaries (
  stack_id uuid primary key references stacks(id) on delete cascade,
  asset_id uuid not null references assets(id) on delete cascade
);
create index stack_former_primaries_asset_idx on stack_former_primaries (asset_id);
