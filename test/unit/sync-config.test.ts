import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { grpcStatusOf, selectedService } from '../../src/sync/flag-sync-service.js';
import * as grpc from '@grpc/grpc-js';

describe('SWITCHYARD_SYNC_PORT', () => {
  it('defaults to 8081, takes 0 (off) and any port, refuses anything else', () => {
    expect(loadConfig({}).syncPort).toBe(8081);
    expect(loadConfig({ SWITCHYARD_SYNC_PORT: '0' }).syncPort).toBe(0);
    expect(loadConfig({ SWITCHYARD_SYNC_PORT: '9001' }).syncPort).toBe(9001);
    for (const bad of ['x', '-1', '65536', '1.5']) expect(() => loadConfig({ SWITCHYARD_SYNC_PORT: bad })).toThrow(ConfigError);
  });
});

describe('the flagd selector', () => {
  it('names a service as "web" or "flagSetId=web", header as fallback, field first', () => {
    expect(selectedService('web', undefined)).toBe('web');
    expect(selectedService('flagSetId=web', undefined)).toBe('web');
    expect(selectedService('', 'flagSetId=search')).toBe('search');
    expect(selectedService(undefined, 'search')).toBe('search');
    expect(selectedService('web', 'search')).toBe('web');
    for (const bad of ['', 'flagSetId=', 'source=web', 'app=web', 'we\nb', 'x'.repeat(201)]) {
      expect(() => selectedService(bad, undefined), JSON.stringify(bad)).toThrow(/selector/);
    }
  });

  it('maps every HTTP status a refusal carries to its gRPC status', () => {
    expect([400, 401, 403, 404, 429, 503, 500, 409].map(grpcStatusOf)).toEqual([
      grpc.status.INVALID_ARGUMENT, grpc.status.UNAUTHENTICATED, grpc.status.PERMISSION_DENIED, grpc.status.NOT_FOUND,
      grpc.status.RESOURCE_EXHAUSTED, grpc.status.UNAVAILABLE, grpc.status.INTERNAL, grpc.status.INTERNAL,
    ]);
  });
});
