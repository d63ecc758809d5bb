import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_READ_LEASE_MS, loadConfig } from '../../../src/config.js';
import { PostgresStorage } from '../../../src/storage/postgres/postgres-storage.js';

/** SWITCHYARD_READ_LEASE_MS (ADR 0012 addendum): read, bounded, and handed to the barrier. */
describe('SWITCHYARD_READ_LEASE_MS', () => {
  it('defaults to 10 ms, takes 0 (no lease) up to 1000, refuses anything else', () => {
    expect(DEFAULT_READ_LEASE_MS).toBe(10);
    expect(loadConfig({}).readLeaseMs).toBe(10);
    expect(loadConfig({ SWITCHYARD_READ_LEASE_MS: '0' }).readLeaseMs).toBe(0);
    expect(loadConfig({ SWITCHYARD_READ_LEASE_MS: '1000' }).readLeaseMs).toBe(1000);
    for (const bad of ['x', '-1', '1001', '2.5']) expect(() => loadConfig({ SWITCHYARD_READ_LEASE_MS: bad }), bad).toThrow(ConfigError);
  });

  it('the PostgreSQL storage gives its barrier the lease it is told, or the default (no connection is made to build it)', () => {
    const url = 'postgres://nobody@127.0.0.1:1/none';
    const told = new PostgresStorage({ url, readLeaseMs: 250 });
    const defaulted = new PostgresStorage({ url });
    const off = new PostgresStorage({ url, readBarrierMs: 0, readLeaseMs: 250 });
    expect(told.barrier?.leaseMs).toBe(250);
    expect(defaulted.barrier?.leaseMs).toBe(DEFAULT_READ_LEASE_MS);
    expect(off.barrier).toBeUndefined();
    return Promise.all([told.close(), defaulted.close(), off.close()]);
  });
});
