// What every bench/scale script starts with: the repository, the CLI it runs, its own flags
// (`--name value`, `--flag`), and an environment without immich's settings, to which each run adds its own.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin/immich');
export const args = process.argv.slice(2);
export const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
export const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DB_|REDIS_|UPLOAD_LOCATION|IMMICH_)/.test(k)));
