-- Stack membership moves from assets.stack_id to a narrow table. `stack auto` writes tens of
-- thousands of memberships at once, and each one rewrote a wide assets row through every index of
-- assets (a bare 100k-row UPDATE took 17.7 s on PostgreSQL under load); a row here is two uuids.
create table stack_assets (
  asset_id uuid primary key references assets(id) on delete cascade,
  stack_id uuid not null references stacks(id) on delete cascade
);
create index stack_assets_stack_idx on stack_assets (stack_id);
insert into stack_assets (asset_id, stack_id) select id, stack_id from assets where stack_id is not null;
drop index if exists assets_stack_idx;
alter table assets drop column stack_id;
