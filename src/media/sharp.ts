// sharp, loaded on first use: its native binding and its ~60 module files (semver, colour) cost every
// command ~50-80 ms of start-up, and most commands (search, info, album, stats) never decode an image.
import { createRequire } from 'node:module';
import type Sharp from 'sharp';

let loaded: typeof Sharp | undefined;
const load = (): typeof Sharp => (loaded ??= createRequire(import.meta.url)('sharp') as typeof Sharp);

/** Called and read exactly like sharp's default export. */
const sharp = new Proxy(function lazySharp() {} as unknown as typeof Sharp, {
  apply: (_target, _this, args: unknown[]) => (load() as unknown as (...a: unknown[]) => unknown)(...args),
  get: (_target, key) => (load() as unknown as Record<PropertyKey, unknown>)[key],
});
export default sharp;
