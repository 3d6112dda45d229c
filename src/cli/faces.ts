// `immich faces`: run face detection/recognition, and look after people (list, show, name, merge, unassign,
// split, recluster, export crops). A person is given by id, unique id prefix, or name.
import type { Command } from 'commander';
import path from 'node:path';
import type { Context } from '../context.js';
import { EnvironmentError, UsageError, VectorUnavailableError } from '../errors.js';
import { detectOutcomes, faceSettings, queueFaceDetection } from '../services/faces.js';
import {
  deferredPass,
  exportCrops,
  findFace,
  findPerson,
  listPeople,
  mergePeople,
  namePerson,
  personAssets,
  recluster,
  splitPerson,
  unassignFace,
} from '../services/people.js';
import { loadRuntime, withContext, type Runtime } from './runtime.js';

const PERSON = 'A <person> is an id (or a unique prefix of at least 4 characters) or a name (case-insensitive).';

function exit(codes: string): string {
  return `\nExit status:\n${codes}`;
}
const EXIT_STD = exit('  0  done\n  2  usage error (unknown person or face)\n  3  environment error (database unavailable)');

async function run(cmd: Command, command: string, fn: (ctx: Context, rt: Runtime) => Promise<number | void>): Promise<void> {
  const rt = await loadRuntime(cmd);
  process.exitCode = await withContext(rt, { command: `immich faces ${command}` }, (ctx) => fn(ctx, rt));
}

function short(id: string | null | undefined): string {
  return id ? id.slice(0, 8) : '';
}

export function register(program: Command): void {
  const faces = program
    .command('faces')
    .description('Find faces in photos and group them into people; name, merge and split people.')
    .addHelpText(
      'after',
      `
Faces are found on each photo's preview by the facial-recognition model (IMMICH_FACE_MODEL, default
scrfd_2.5g-mobilefacenet: install it with \`immich models pull scrfd_2.5g-mobilefacenet\`), then clustered
into people. Named people and faces you assign by hand (merge, unassign, split) are never changed by
clustering. Needs pgvector (the embedded database has it).

Settings (environment or .env):
  IMMICH_FACE_MODEL         facial-recognition model name (detection/ + recognition/ parts)
  IMMICH_FACE_MIN_SCORE     detection score threshold (0.7)
  IMMICH_FACE_MAX_DISTANCE  cosine distance under which faces are the same person (0.45)
  IMMICH_FACE_MIN_FACES     faces needed to start a new person (3)
  IMMICH_ML_PROVIDERS, IMMICH_ML_THREADS, IMMICH_ML_IDLE_MS   onnxruntime settings (see immich models)

Examples:
  immich faces detect
  immich faces people
  immich faces name 3f2a9c1e "Ada Lovelace"
  immich faces show "Ada Lovelace" --json
  immich faces merge "Ada Lovelace" 9b0c44d1
${exit('  0  done\n  1  some assets failed (detect)\n  2  usage error\n  3  environment error (database, pgvector or model unavailable)')}`,
    );

  faces
    .command('detect')
    .description('Queue face detection (then recognition) for photos that miss it, or all with --force, and run it; then give deferred faces their second pass.')
    .option('--force', 'detect again on every photo (faces assigned by hand, and named people with their faces, are kept)')
    .option('--no-wait', 'Redis mode: return once the jobs are queued')
    .addHelpText(
      'after',
      `
Detection reads the preview made by the thumbnails stage, never the original; photos without a preview
are counted and left for \`immich index\`. Without the face model (IMMICH_FACE_MODEL) it exits 3 and says
which model is missing and the command that installs it.

Examples:
  immich faces detect
  immich faces detect --force --json
${exit('  0  done\n  1  some assets failed (listed)\n  2  usage error\n  3  environment error (database unavailable, face model not installed)')}`,
    )
    .action(async (opts: { force?: boolean; wait: boolean }, cmd: Command) =>
      run(cmd, 'detect', async (ctx, rt) => {
        // Nothing to do without the face model: exit 3 saying which model and how to install it,
        // rather than skip every photo and exit 0.
        if (!ctx.database.hasVector) throw new VectorUnavailableError('Face recognition');
        const { requireModel } = await import('../ml/models.js');
        const { faceSettings, FACE_TASK } = await import('../services/faces.js');
        const model = faceSettings(ctx.config.raw).model;
        for (const part of ['detection', 'recognition']) await requireModel(ctx, FACE_TASK, model, part);
        // Job history is written with this process's clock: a second back covers any rounding.
        const started = new Date(Date.now() - 1000);
        const q = await queueFaceDetection(ctx, { force: opts.force });
        if (q.noPreview) rt.out.note(`${q.noPreview} photo${q.noPreview === 1 ? ' has' : 's have'} no preview yet: run immich index first`);
        if (!opts.wait && ctx.queue.kind === 'redis') {
          if (rt.out.json) rt.out.data({ queued: q.queued, noPreview: q.noPreview, waited: false });
          else rt.out.line(`queued face detection for ${q.queued} photos`);
          return 0;
        }
        const progress = rt.out.progress('faces');
        const drained = await ctx.queue.drain((p) => progress.update(p.done + p.failed + p.skipped, p.total, p.stage));
        progress.stop();
        const second = await deferredPass(ctx);
        const people = await listPeople(ctx);
        const counts = await ctx.db.selectFrom('asset_faces').select((eb) => [eb.fn.countAll<number>().as('faces'), eb.fn.count<number>('person_id').as('assigned')]).executeTakeFirst();
        const photos = await detectOutcomes(ctx, started);
        const skippedModel = await ctx.db.selectFrom('asset_job_status').select('error').where('stage', '=', 'face-detection').where('status', '=', 'skipped').limit(1).executeTakeFirst();
        const result = {
          queued: q.queued,
          noPreview: q.noPreview,
          completed: drained.completed,
          skipped: drained.skipped,
          failed: drained.failed,
          failures: await (await import('../services/index.js')).jobFailures(ctx, drained.failures),
          // Per photo (the job counts above are per job: detection and recognition each count).
          photos: { done: photos.done, skipped: photos.skipped, failed: photos.failed },
          faces: Number(counts?.faces ?? 0),
          assignedFaces: Number(counts?.assigned ?? 0),
          unassignedFaces: Number(counts?.faces ?? 0) - Number(counts?.assigned ?? 0),
          people: people.length,
          deferredPass: second,
        };
        if (rt.out.json) rt.out.data(result);
        else {
          for (const f of result.failures) rt.out.error(`immich: ${f.path}: ${f.stage}: ${f.reason}`);
          rt.out.line(
            `${q.queued} photos: ${photos.done} done, ${photos.skipped} skipped, ${photos.failed} failed; ` +
              `library: ${result.faces} faces, ${result.assignedFaces} in ${result.people} people, ${result.unassignedFaces} without a person`,
          );
          if (skippedModel?.error && q.queued && !drained.completed) rt.out.note(`face stages were skipped: ${skippedModel.error}`);
        }
        return drained.failed > 0 ? 1 : 0;
      }),
    );

  faces
    .command('people')
    .description('List people: id, name, number of faces and photos, and a sample photo.')
    .option('--all', 'include people without faces')
    .addHelpText('after', `\nExamples:\n  immich faces people\n  immich faces people --json | jq '.[] | select(.name == "")'\n${EXIT_STD}`)
    .action(async (opts: { all?: boolean }, cmd: Command) =>
      run(cmd, 'people', async (ctx, rt) => {
        const people = await listPeople(ctx, { includeEmpty: opts.all });
        if (rt.out.json) return rt.out.data(people);
        if (!people.length) return rt.out.line('no people yet (run immich faces detect)');
        rt.out.table(['id', 'name', 'faces', 'photos', 'sample'], people.map((p) => [short(p.id), p.name || '(unnamed)', p.faces, p.assets, p.samplePath ?? short(p.sampleAssetId)]));
      }),
    );

  faces
    .command('show <person>')
    .description("List a person's photos with the face id and box in each (use the face ids with unassign and split).")
    .addHelpText('after', `\n${PERSON}\n\nExamples:\n  immich faces show "Ada Lovelace"\n  immich faces show 3f2a --json\n${EXIT_STD}`)
    .action(async (ref: string, _o: unknown, cmd: Command) =>
      run(cmd, 'show', async (ctx, rt) => {
        const p = await findPerson(ctx, ref);
        const assets = await personAssets(ctx, p.id);
        if (rt.out.json) return rt.out.data({ id: p.id, name: p.name, faces: assets });
        rt.out.line(`${p.name || '(unnamed)'} ${p.id}: ${assets.length} face${assets.length === 1 ? '' : 's'}`);
        rt.out.table(['face', 'photo', 'taken', 'box (x1,y1,x2,y2 of 1)', 'score', 'by'], assets.map((a) => [short(a.faceId), a.path, a.takenAt ? a.takenAt.toISOString().slice(0, 10) : '', a.box.map((x) => x.toFixed(2)).join(','), a.score.toFixed(2), a.assignedBy]));
      }),
    );

  faces
    .command('name <person> <name>')
    .description('Name (or rename) a person. Named people are never changed by clustering.')
    .addHelpText('after', `\n${PERSON}\n\nExamples:\n  immich faces name 3f2a9c1e "Ada Lovelace"\n${EXIT_STD}`)
    .action(async (ref: string, name: string, _o: unknown, cmd: Command) =>
      run(cmd, 'name', async (ctx, rt) => {
        const p = await findPerson(ctx, ref);
        await namePerson(ctx, p.id, name);
        if (rt.out.json) rt.out.data({ id: p.id, name: name.trim() });
        else rt.out.line(`${short(p.id)} is now "${name.trim()}"`);
      }),
    );

  faces
    .command('merge <into> <from>')
    .description('Move every face of <from> into <into> and delete <from>. <into> keeps its name (or takes the other name when it has none).')
    .addHelpText('after', `\n${PERSON}\n\nExamples:\n  immich faces merge "Ada Lovelace" 9b0c44d1\n${EXIT_STD}`)
    .action(async (a: string, b: string, _o: unknown, cmd: Command) =>
      run(cmd, 'merge', async (ctx, rt) => {
        const into = await findPerson(ctx, a);
        const from = await findPerson(ctx, b);
        const r = await mergePeople(ctx, into.id, from.id);
        if (rt.out.json) rt.out.data({ id: into.id, name: r.name, merged: from.id, moved: r.moved });
        else rt.out.line(`merged ${short(from.id)} into ${short(into.id)}${r.name ? ` (${r.name})` : ''}: ${r.moved} faces moved`);
      }),
    );

  faces
    .command('unassign <face>')
    .description('Take a face away from its person; clustering will leave it unassigned.')
    .addHelpText('after', `\nFace ids are shown by \`immich faces show <person>\` (a unique prefix is enough).\n\nExamples:\n  immich faces unassign 5d1e0a2b\n${EXIT_STD}`)
    .action(async (ref: string, _o: unknown, cmd: Command) =>
      run(cmd, 'unassign', async (ctx, rt) => {
        const f = await findFace(ctx, ref);
        const r = await unassignFace(ctx, f.id);
        if (rt.out.json) rt.out.data({ face: f.id, from: r.personId });
        else rt.out.line(`face ${short(f.id)} unassigned${r.personId ? ` from ${short(r.personId)}` : ''}`);
      }),
    );

  faces
    .command('split <person>')
    .description('Move chosen faces of a person to a new person.')
    .requiredOption('--faces <ids>', 'comma-separated face ids (or unique prefixes) to move')
    .option('--name <name>', 'name of the new person')
    .addHelpText('after', `\n${PERSON}\n\nExamples:\n  immich faces split "Ada Lovelace" --faces 5d1e0a2b,77c0 --name "Ada's sister"\n${EXIT_STD}`)
    .action(async (ref: string, opts: { faces: string; name?: string }, cmd: Command) =>
      run(cmd, 'split', async (ctx, rt) => {
        const p = await findPerson(ctx, ref);
        const ids: string[] = [];
        for (const f of opts.faces.split(',').map((s) => s.trim()).filter(Boolean)) ids.push((await findFace(ctx, f)).id);
        const r = await splitPerson(ctx, p.id, ids, opts.name);
        if (rt.out.json) rt.out.data({ from: p.id, id: r.id, name: opts.name ?? '', moved: r.moved });
        else rt.out.line(`moved ${r.moved} face${r.moved === 1 ? '' : 's'} from ${short(p.id)} to new person ${short(r.id)}${opts.name ? ` (${opts.name})` : ''}`);
      }),
    );

  faces
    .command('recluster')
    .description('Cluster all faces again from scratch: undo clustering into unnamed people, then the full pass and the deferred pass. Named people and manual assignments stay.')
    .addHelpText(
      'after',
      `\nExamples:\n  immich faces recluster\n  IMMICH_FACE_MAX_DISTANCE=0.4 immich faces recluster --json\n${exit('  0  done\n  2  usage error\n  3  environment error (database, pgvector or model unavailable)')}`,
    )
    .action(async (_o: unknown, cmd: Command) =>
      run(cmd, 'recluster', async (ctx, rt) => {
        const s = faceSettings(ctx.config.raw);
        const r = await recluster(ctx);
        const people = await listPeople(ctx);
        if (rt.out.json) rt.out.data({ ...r, people: people.length, maxDistance: s.maxDistance, minFaces: s.minFaces });
        else {
          rt.out.line(
            `${r.faces} faces clustered: ${r.assigned} joined existing people, ${r.inNewPeople} in ${r.newPeople} new people, ${r.unassigned} without a person yet; ${people.length} people in all`,
          );
        }
      }),
    );

  faces
    .command('export-crops <person> <dir>')
    .description("Copy a person's face crops into a folder as <photo name>-<face id>.jpg.")
    .addHelpText('after', `\n${PERSON}\n\nExamples:\n  immich faces export-crops "Ada Lovelace" ./ada\n${exit('  0  done\n  1  some crops were missing\n  2  usage error\n  3  environment error')}`)
    .action(async (ref: string, dir: string, _o: unknown, cmd: Command) =>
      run(cmd, 'export-crops', async (ctx, rt) => {
        const p = await findPerson(ctx, ref);
        const r = await exportCrops(ctx, p.id, path.resolve(dir));
        if (rt.out.json) rt.out.data({ id: p.id, name: p.name, ...r });
        else {
          for (const f of r.written) rt.out.line(f);
          for (const m of r.missing) rt.out.error(`face ${m}: crop missing (run immich faces detect --force)`);
        }
        return r.missing.length ? 1 : 0;
      }),
    );
}

