// Who a key or session is, remembered for a few seconds, so a page of requests (the timeline's
// month list, then its newest month) does not look the caller up in the database each time. Only on
// the embedded database: `immich serve` then holds the library lock, so no other process can revoke
// a key or end a session meanwhile, and logout (the one in-process revocation) drops its entry.
// Entries are keyed by SHA-256 of the secret (no secret kept in memory longer than the request).
import crypto from 'node:crypto';
import type { Caller } from '../services/auth.js';

const MAX_ENTRIES = 1000;

export class AuthCache {
  private readonly entries = new Map<string, { caller: Caller; until: number }>();

  constructor(private readonly ttlMs: number) {}

  static key(kind: 'key' | 'session', secret: string): string {
    return `${kind}:${crypto.createHash('sha256').update(secret).digest('hex')}`;
  }

  get(key: string): Caller | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.until > Date.now()) return e.caller;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, caller: Caller): void {
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, { caller, until: Date.now() + this.ttlMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
