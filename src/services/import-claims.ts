// Claims that let several `immich import` processes share one PostgreSQL database (migration 0130):
// a file's content and its library path are claimed before the file is placed, and released once
// its asset row is in. A claim of a dead process on this host is taken over. The embedded database
// is opened by one process at a time, so it needs none.
import os from 'node:os';
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';

export type ClaimKind = 'checksum' | 'path';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How long to wait between looks at a claim held by another process. */
const POLL_MS = 100;

export class ImportClaims {
  private readonly host = os.hostname();

  constructor(private readonly db: Kysely<DB>) {}

  /** Claim (kind, key) for this process; false while another live process holds it. */
  async tryClaim(kind: ClaimKind, key: string): Promise<boolean> {
    for (;;) {
      const row = await this.db
        .insertInto('import_claims')
        .values({ kind, key, owner_host: this.host, owner_pid: process.pid })
        .onConflict((oc) => oc.columns(['kind', 'key']).doNothing())
        .returning('key')
        .executeTakeFirst();
      if (row) return true;
      const holder = await this.holder(kind, key);
      if (!holder) continue; // released meanwhile
      if (!this.stale(holder)) return false;
      await this.dropStale(kind, key, holder);
    }
  }

  /** Wait until nobody (alive) holds (kind, key). */
  async waitReleased(kind: ClaimKind, key: string): Promise<void> {
    for (;;) {
      const holder = await this.holder(kind, key);
      if (!holder) return;
      if (this.stale(holder)) {
        await this.dropStale(kind, key, holder);
        return;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  async release(kind: ClaimKind, key: string): Promise<void> {
    await this.db
      .deleteFrom('import_claims')
      .where('kind', '=', kind)
      .where('key', '=', key)
      .where('owner_host', '=', this.host)
      .where('owner_pid', '=', process.pid)
      .execute();
  }

  private holder(kind: ClaimKind, key: string) {
    return this.db.selectFrom('import_claims').select(['owner_host', 'owner_pid']).where('kind', '=', kind).where('key', '=', key).executeTakeFirst();
  }

  /**
   * A claim of a process gone from this host (or of an earlier process with our pid). Claims of
   * other hosts cannot be checked and are waited for.
   */
  private stale(h: { owner_host: string; owner_pid: number }): boolean {
    return h.owner_host === this.host && (h.owner_pid === process.pid || !pidAlive(h.owner_pid));
  }

  /** Remove exactly the stale holder's claim: a claim taken meanwhile by another process stays. */
  private async dropStale(kind: ClaimKind, key: string, h: { owner_host: string; owner_pid: number }): Promise<void> {
    await this.db
      .deleteFrom('import_claims')
      .where('kind', '=', kind)
      .where('key', '=', key)
      .where('owner_host', '=', h.owner_host)
      .where('owner_pid', '=', h.owner_pid)
      .execute();
  }
}
