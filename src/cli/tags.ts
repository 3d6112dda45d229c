// `immich tags list [--tree]`: the user tags (given by edit, read from XMP sidecars, imported from
// Takeout) with how many assets carry each, flat by path or as the hierarchy.
import type { Command } from 'commander';
import type { UserTagCount } from '../db/user-tags.js';
import { loadRuntime, withContext } from './runtime.js';

export interface TagNode {
  name: string;
  path: string;
  id: string;
  assets: number;
  total: number;
  children: TagNode[];
}

/** Flat tags (sorted by path) → the hierarchy, by parent id; a tag whose parent is missing is a root. */
export function tagTree(tags: UserTagCount[]): TagNode[] {
  const nodes = new Map<string, TagNode>();
  for (const t of tags) nodes.set(t.id, { name: t.value.slice(t.value.lastIndexOf('/') + 1), path: t.value, id: t.id, assets: t.assetCount, total: t.totalCount, children: [] });
  const roots: TagNode[] = [];
  for (const t of tags) {
    const parent = t.parentId ? nodes.get(t.parentId) : undefined;
    (parent ? parent.children : roots).push(nodes.get(t.id)!);
  }
  return roots;
}

export function register(program: Command): void {
  const tags = program
    .command('tags')
    .description('user tags: list them with their asset counts')
    .addHelpText(
      'after',
      `
User tags nest by path ("Trips/2024/Lisbon"); immich edit --tag gives them, XMP sidecars
(digiKam:TagsList, lr:HierarchicalSubject) and Google Takeout bring them in. Object and scene
labels from the detectors are not listed here (see immich search --tag).

Examples:
  immich tags list
  immich tags list --tree
  immich --json tags list --tree | jq '.tags[].path'

Exit status:
  0  done (also when there are no tags)
  3  environment error (database unavailable)`,
    );
  tags
    .command('list')
    .description('list user tags with how many assets carry each (assets) and it or a tag below it (total)')
    .option('--tree', 'show the hierarchy (JSON: nested "children")')
    .action(async (f: { tree?: boolean }, c: Command) => {
      const rt = await loadRuntime(c);
      process.exitCode = await withContext(rt, { command: 'immich tags list', quickStart: true }, async (ctx) => {
        const { listUserTags } = await import('../db/user-tags.js');
        const list = await listUserTags(ctx.db);
        if (rt.out.json) {
          if (f.tree) rt.out.data({ count: list.length, tags: tagTree(list) });
          else rt.out.data({ count: list.length, tags: list.map((t) => ({ id: t.id, path: t.value, parentId: t.parentId, assets: t.assetCount, total: t.totalCount })) });
          return 0;
        }
        if (!list.length) {
          rt.out.note('no user tags (immich edit --tag adds one)');
          return 0;
        }
        if (f.tree) {
          const rows: string[][] = [];
          const walk = (n: TagNode, depth: number) => {
            rows.push([`${'  '.repeat(depth)}${n.name}`, String(n.assets), String(n.total)]);
            for (const ch of n.children) walk(ch, depth + 1);
          };
          for (const r of tagTree(list)) walk(r, 0);
          rt.out.table(['tag', 'assets', 'total'], rows);
        } else rt.out.table(['tag', 'assets', 'total'], list.map((t) => [t.value, String(t.assetCount), String(t.totalCount)]));
        return 0;
      });
    });
}
