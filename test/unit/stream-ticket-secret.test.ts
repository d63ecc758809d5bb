import { describe, expect, it } from 'vitest';
import { StreamTickets, streamTicketKey } from '../../src/access/stream-ticket.js';
import type { Actor } from '../../src/access/actor.js';
import { ConfigError, loadConfig } from '../../src/config.js';

const SECRET = 'a-shared-secret-of-at-least-32-characters';

describe('SWITCHYARD_STREAM_TICKET_SECRET (issue #16: tickets shared by every instance)', () => {
  it('is optional, and at least 32 characters when given', () => {
    expect(loadConfig({}).streamTicketSecret).toBeUndefined();
    expect(loadConfig({ SWITCHYARD_STREAM_TICKET_SECRET: SECRET }).streamTicketSecret).toBe(SECRET);
    expect(() => loadConfig({ SWITCHYARD_STREAM_TICKET_SECRET: 'x'.repeat(31) })).toThrow(ConfigError);
  });

  it('the same secret makes the same key (a ticket of one instance verifies on another); another secret does not', () => {
    const actor = { tokenId: 'tok_1' } as Actor;
    const lookup = { actorById: (id: string) => ({ ...actor, tokenId: id }) as Actor };
    const ticket = new StreamTickets(streamTicketKey(SECRET)).issue(actor, 'web');
    expect(new StreamTickets(streamTicketKey(SECRET)).verify(ticket, 'web', lookup).tokenId).toBe('tok_1');
    expect(() => new StreamTickets(streamTicketKey(SECRET + '!')).verify(ticket, 'web', lookup)).toThrow();
    // The key is derived, not the secret itself.
    expect(streamTicketKey(SECRET).equals(Buffer.from(SECRET).subarray(0, 32))).toBe(false);
    expect(streamTicketKey(SECRET)).toHaveLength(32);
  });
});
