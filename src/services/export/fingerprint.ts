// What an exported file was made from besides the asset's bytes and its last edit: album paths,
// people's names (and face regions), tags, the file's metadata row. Renaming a person or an album,
// tagging a photo or a new reverse-geocoded city is not an edit of the asset, yet it changes the
// path a template renders or the metadata --embed-metadata/--sidecar writes. Each exported file
// records a fingerprint of exactly what its path and its bytes used, so `--update` notices these
// changes and nothing else (a template without {{album}} ignores album renames).
//
// The parts are computed in SQL, per asset, only for what the templates and options use: a plain
// `--update` with Immich's date template reads none of them.
import crypto from 'node:crypto';
import type { Context } from '../../context.js';
import { albumPathIndex } from '../../db/albums.js';
import { sql } from '../../db/kysely.js';
import type { Template } from '../../storage/template.js';

/** Tokens whose value comes from the metadata row (exif), not from the asset's edits. */
const EXIF_TOKENS = new Set(['make', 'model', 'lens', 'city', 'country', 'rating', 'description']);

export interface DepNeeds {
  albums: boolean;
  peopleNames: boolean;
  /** People with their face regions (embedded metadata, sidecars). */
  peopleRegions: boolean;
  tags: boolean;
  exif: boolean;
}

export interface DepsOptions {
  embedMetadata?: boolean;
  sidecar?: string;
}

/** Which parts the path (templates) and the bytes (embed, sidecar) of exported files depend on. */
export function depNeeds(templates: ReadonlyArray<Template | undefined>, opts: DepsOptions): { path: DepNeeds; content: DepNeeds } {
  const tokens = new Set(templates.flatMap((t) => t?.parts.flatMap((p) => ('token' in p ? [p.token] : [])) ?? []));
  const path: DepNeeds = {
    albums: tokens.has('album'),
    peopleNames: tokens.has('person'),
    peopleRegions: false,
    tags: tokens.has('tag'),
    exif: [...tokens].some((t) => EXIF_TOKENS.has(t)),
  };
  // The XMP sidecar and embedded metadata carry people with regions and tags; the JSON sidecar
  // (info's record) also albums and the metadata row.
  const meta = Boolean(opts.embedMetadata || opts.sidecar);
  const content: DepNeeds = { albums: meta, peopleNames: false, peopleRegions: meta, tags: meta, exif: meta };
  return { path, content };
}

const any = (n: DepNeeds) => n.albums || n.peopleNames || n.peopleRegions || n.tags || n.exif;

export interface AssetDeps {
  path: string;
  content: string;
}

const CHUNK = 5000;

/** Fingerprints per asset id ('' for a part nothing uses). One statement per 5000 assets. */
export async function loadDeps(ctx: Context, ids: readonly string[], needs: { path: DepNeeds; content: DepNeeds }): Promise<Map<string, AssetDeps>> {
  const out = new Map<string, AssetDeps>();
  if (!any(needs.path) && !any(needs.content)) return out;
  const or = (k: keyof DepNeeds) => needs.path[k] || needs.content[k];
  const albumPaths = or('albums') ? await albumPathIndex(ctx.db) : undefined;
  const SEP = '\u001e';
  for (let k = 0; k < ids.length; k += CHUNK) {
    const chunk = ids.slice(k, k + CHUNK);
    const rows = await ctx.db
      .selectFrom('assets')
      .select([
        'assets.id',
        (or('albums')
          ? sql<string | null>`(select string_agg(aa.album_id::text, ',') from album_assets aa where aa.asset_id = assets.id)`
          : sql<null>`null`).as('album_ids'),
        (or('peopleNames')
          ? sql<string | null>`(select md5(string_agg(distinct p.name, ${SEP} order by p.name)) from asset_faces f join people p on p.id = f.person_id where f.asset_id = assets.id and not p.is_hidden and p.name <> '')`
          : sql<null>`null`).as('people_names'),
        (or('peopleRegions')
          ? sql<string | null>`(select md5(string_agg(p.name || ' ' || f.box_x1 || ' ' || f.box_y1 || ' ' || f.box_x2 || ' ' || f.box_y2, ${SEP} order by p.name, f.box_x1, f.box_y1)) from asset_faces f join people p on p.id = f.person_id where f.asset_id = assets.id and not p.is_hidden and p.name <> '')`
          : sql<null>`null`).as('people_regions'),
        (or('tags')
          ? sql<string | null>`(select md5(string_agg(t.value, ${SEP} order by t.value)) from asset_user_tags at join user_tags t on t.id = at.tag_id where at.asset_id = assets.id)`
          : sql<null>`null`).as('tags'),
        (or('exif') ? sql<string | null>`(select md5(e::text) from exif e where e.asset_id = assets.id)` : sql<null>`null`).as('exif'),
      ])
      .where('assets.id', 'in', chunk)
      .execute();
    for (const r of rows) {
      const albums = r.album_ids && albumPaths
        ? r.album_ids.split(',').map((id) => albumPaths.get(id)?.path ?? '').sort().join(SEP)
        : '';
      const part = (n: DepNeeds) => {
        if (!any(n)) return '';
        const h = crypto.createHash('sha1');
        for (const [need, v] of [[n.albums, albums], [n.peopleNames, r.people_names], [n.peopleRegions, r.people_regions], [n.tags, r.tags], [n.exif, r.exif]] as const) {
          h.update(need ? `${v ?? ''}\u001f` : '\u001f');
        }
        return h.digest('hex').slice(0, 16);
      };
      out.set(r.id, { path: part(needs.path), content: part(needs.content) });
    }
  }
  return out;
}
