// `immich album create|list|show|rename|describe|delete|add|remove`: nested albums by path
// ('Trips/2024/Lisbon'); add and remove take the selection of immich search.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { addSelectionOptions, isSelective, parseSelection, type SelectionFlags } from '../services/selection.js';
import { loadRuntime, withContext, type Runtime } from './runtime.js';


function action(c: Command, fn: (rt: Runtime) => Promise<number>): Promise<void> {
  return loadRuntime(c).then(async (rt) => {
    process.exitCode = await fn(rt);
  });
}

const EXIT = `
Exit status:
  0  done (also when there was nothing to do: the album existed, the assets were in it)
  2  usage error (unknown album, bad path, unknown selection names, sub-albums without --recursive)
  3  environment error (database unavailable)`;

export function register(program: Command): void {
  const album = program
    .command('album')
    .description('nested albums: create, list, show, rename, describe, delete; add and remove assets by selection')
    .addHelpText(
      'after',
      `
Albums nest by path: "Trips/2024/Lisbon" is Lisbon inside 2024 inside Trips; an album may hold
assets and sub-albums. An album is named by its path (case is ignored when unambiguous) or its id.
Albums are kept in the database only (backup and restore keep them).

Examples:
  immich album create "Trips/2024/Lisbon" --description "May, with Ana"
  immich album add "Trips/2024/Lisbon" --after 2024-05-01 --before 2024-05-08 --place Lisbon
  immich search beach --paths | immich album add Beaches --create --ids-from -
  immich album list Trips --recursive
  immich album show Trips --recursive --paths
  immich album rename "Trips/2024/Lisbon" "Trips/2024/Portugal"
${EXIT}`,
    );

  album
    .command('create')
    .description('create an album (and any missing parents)')
    .argument('<path>', 'e.g. "Trips/2024/Lisbon"')
    .option('--description <text>', 'its description')
    .action((p: string, f: { description?: string }, c: Command) =>
      action(c, (rt) => withContext(rt, { command: 'immich album create' }, async (ctx) => {
        const { createAlbum } = await import('../services/albums.js');
        const r = await createAlbum(ctx, p, f.description);
        if (rt.out.json) rt.out.data({ created: r.created, album: r.album });
        else rt.out.line(`${r.created ? 'created' : 'exists:'} ${r.album.path} ${r.album.id}`);
        return 0;
      })),
    );

  album
    .command('list')
    .description('list albums: all of them, or the sub-albums of one')
    .argument('[path]', 'list the sub-albums of this album')
    .option('-r, --recursive', 'with a path: every album below it, not only its children')
    .action((p: string | undefined, f: { recursive?: boolean }, c: Command) =>
      action(c, (rt) => withContext(rt, { command: 'immich album list', quickStart: true }, async (ctx) => {
        const { listAlbums } = await import('../services/albums.js');
        const albums = await listAlbums(ctx, p, f.recursive);
        if (rt.out.json) rt.out.data({ count: albums.length, albums });
        else if (!albums.length) rt.out.note('no albums');
        else rt.out.table(['album', 'assets', 'sub-albums', 'description', 'id'], albums.map((a) => [a.path, a.assetCount, a.childCount, a.description ?? '', a.id.slice(0, 8)]));
        return 0;
      })),
    );

  album
    .command('show')
    .description('an album: its description, sub-albums and assets')
    .argument('<path>', 'album path or id')
    .option('-r, --recursive', 'include the assets of every sub-album')
    .option('--paths', 'print only the assets\' files, one per line')
    .action((p: string, f: { recursive?: boolean; paths?: boolean }, c: Command) =>
      action(c, (rt) => withContext(rt, { command: 'immich album show', quickStart: true }, async (ctx) => {
        const { showAlbum } = await import('../services/albums.js');
        const { describeAssets } = await import('../services/asset-info.js');
        const d = await showAlbum(ctx, p, Boolean(f.recursive));
        const assets = await describeAssets(ctx, d.assetIds);
        if (f.paths) {
          rt.out.write(assets.map((a) => a.libraryPath + '\n').join(''));
          return 0;
        }
        if (rt.out.json) {
          rt.out.data({ album: d.album, children: d.children, count: assets.length, assets });
          return 0;
        }
        rt.out.line(`${d.album.path}  (${d.album.id})`);
        if (d.album.description) rt.out.line(d.album.description);
        for (const ch of d.children) rt.out.line(`  ${ch.name}/  ${ch.assetCount} assets${ch.childCount ? `, ${ch.childCount} sub-albums` : ''}`);
        if (assets.length) {
          rt.out.table(['file', 'taken', 'albums'], assets.map((a) => [a.libraryPath, a.takenAt?.slice(0, 10) ?? '', a.albums.map((x) => x.path).join(', ')]));
        } else rt.out.line('no assets');
        return 0;
      })),
    );

  album
    .command('rename')
    .description('rename an album, or move it with a path ("Trips/2024/Porto")')
    .argument('<path>', 'album path or id')
    .argument('<new>', 'a new name, or a new path')
    .action((p: string, n: string, _f: unknown, c: Command) =>
      action(c, (rt) => withContext(rt, { command: 'immich album rename' }, async (ctx) => {
        const { renameAlbum } = await import('../services/albums.js');
        const r = await renameAlbum(ctx, p, n);
        if (rt.out.json) rt.out.data({ from: r.from, album: r.album });
        else rt.out.line(`${r.from} -> ${r.album.path}`);
        return 0;
      })),
    );

  album
    .command('describe')
    .description('set an album\'s description ("" clears it)')
    .argument('<path>', 'album path or id')
    .argument('<text>', 'the description')
    .action((p: string, text: string, _f: unknown, c: Command) =>
      action(c, (rt) => withContext(rt, { command: 'immich album describe' }, async (ctx) => {
        const { describeAlbum } = await import('../services/albums.js');
        const a = await describeAlbum(ctx, p, text);
        if (rt.out.json) rt.out.data({ album: a });
        return 0;
      })),
    );

  album
    .command('delete')
    .description('delete an album (its assets stay in the library)')
    .argument('<path>', 'album path or id')
    .option('-r, --recursive', 'also delete its sub-albums (needed when it has any)')
    .action((p: string, f: { recursive?: boolean }, c: Command) =>
      action(c, (rt) => withContext(rt, { command: 'immich album delete' }, async (ctx) => {
        const { deleteAlbum } = await import('../services/albums.js');
        const r = await deleteAlbum(ctx, p, Boolean(f.recursive));
        if (rt.out.json) rt.out.data({ deleted: r.albums });
        else for (const a of r.albums) rt.out.line(`deleted ${a}`);
        return 0;
      })),
    );

  const member = (name: 'add' | 'remove'): Command => {
    const cmd = album
      .command(name)
      .description(name === 'add' ? 'add the selected assets to an album' : 'take the selected assets out of an album (they stay in the library)')
      .argument('<path>', 'album path or id')
      .argument('[query...]', 'free text selecting what `immich search` shows for it (optional)');
    addSelectionOptions(cmd, { favorite: true });
    if (name === 'add') cmd.option('--create', 'create the album (and its parents) when it does not exist');
    return cmd.addHelpText('after', `\nSelection: the options of immich search (see immich-search(1)).\n${EXIT}`);
  };
  const runMember = (name: 'add' | 'remove'): ((p: string, words: string[], f: SelectionFlags & { create?: boolean }, c: Command) => Promise<void>) =>
    (p, words, f, c) =>
      action(c, async (rt) => {
        const sel = await parseSelection(f, { words });
        if (!isSelective(sel)) throw new UsageError(`nothing selected: give a selection (e.g. --id, --ids-from, --path, a query) or --all`);
        return withContext(rt, { command: `immich album ${name}` }, async (ctx) => {
          const svc = await import('../services/albums.js');
          const r = name === 'add' ? await svc.addToAlbum(ctx, p, sel, { create: f.create }) : await svc.removeFromAlbum(ctx, p, sel);
          const n = 'added' in r ? r.added : r.removed;
          if (rt.out.json) rt.out.data({ album: r.album, selected: r.selected, [name === 'add' ? 'added' : 'removed']: n });
          else rt.out.note(`${r.album.path}: ${n} ${name === 'add' ? 'added' : 'removed'} (${r.selected} selected)`);
          return 0;
        });
      });
  member('add').action(runMember('add'));
  member('remove').action(runMember('remove'));
}

