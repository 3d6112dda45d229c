// Failed logins per client address: after `attempts` failures within `windowMs`, further attempts
// are refused (429 with Retry-After) until the oldest failure leaves the window. In memory: each
// `serve` process counts its own (the scrypt check itself also bounds how fast one can guess).
export class LoginLimiter {
  private failures = new Map<string, number[]>();

  constructor(private readonly attempts: number, private readonly windowMs: number) {}

  /** Seconds to wait before another attempt from this address is heard, or 0. */
  retryAfter(ip: string, now = Date.now()): number {
    const list = this.recent(ip, now);
    if (list.length < this.attempts) return 0;
    return Math.max(1, Math.ceil((list[0]! + this.windowMs - now) / 1000));
  }

  fail(ip: string, now = Date.now()): void {
    const list = this.recent(ip, now);
    list.push(now);
    this.failures.set(ip, list);
    // Bounded memory: addresses whose failures all expired are dropped as others fail.
    if (this.failures.size > 10_000) for (const k of this.failures.keys()) if (!this.recent(k, now).length) this.failures.delete(k);
  }

  succeed(ip: string): void {
    this.failures.delete(ip);
  }

  private recent(ip: string, now: number): number[] {
    return (this.failures.get(ip) ?? []).filter((t) => now - t < this.windowMs);
  }
}
