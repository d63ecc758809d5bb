import { describe, expect, it } from 'vitest';
import type { Actor } from '../../../src/access/actor.js';
import { StreamTickets, streamTicketKey, type TokenLookup } from '../../../src/access/stream-ticket.js';
import { SwitchyardError, UnauthorizedError } from '../../../src/errors.js';

/**
 * OFREP event-stream tickets (src/access/stream-ticket.ts) on their own: `<token id>.<MAC>`, good for
 * one service, verified by looking the token up by id. The key vector and the MAC vector were
 * computed outside Node (Python's hmac/hashlib: HKDF-SHA256 by RFC 5869, then HMAC-SHA256,
 * base64url without padding), so instances of any version given one secret keep agreeing.
 */

const SECRET = 'correct horse battery staple';
const KEY_HEX = '360a9f4d17ea6ffd72e0c6aa85e227e99557dcec57de623d2bbb07f47d56a147';
const MAC_OF_DEMO_WEB = 'dcMQ9NGx4taRkSwEfJJh2sx6yPQhAfrKCyE2ElHc9Vk';

const actor = (tokenId: string): Actor => ({ tokenId, name: `n-${tokenId}`, role: 'service', team: null, approvalRoles: [], service: 'web' });

/** A lookup over a fixed set of active token ids, refusing the others as TokenService.actorById does. */
const lookup = (...ids: string[]): TokenLookup => ({
  actorById(id) {
    if (!ids.includes(id)) throw new UnauthorizedError('The token behind this ticket is unknown or revoked');
    return actor(id);
  },
});

/** The refusal `fn` throws, as code, status and message (a TypeError instead fails the test). */
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SwitchyardError);
    const e = err as SwitchyardError;
    return `${e.status} ${e.code}: ${e.message}`;
  }
  throw new Error('expected a refusal');
};
const FORGED = '401 unauthorized: The stream ticket is not valid for this service; fetch the bulk evaluation again for a fresh one';

describe('streamTicketKey', () => {
  it('is HKDF-SHA256 of the secret with the fixed salt and label: 32 bytes, the same on every instance', () => {
    expect(streamTicketKey(SECRET).toString('hex')).toBe(KEY_HEX);
    expect(streamTicketKey('another secret').toString('hex')).not.toBe(KEY_HEX);
  });
});

describe('StreamTickets', () => {
  const ID = 'tok_01JDEMO';

  it('issues <token id>.<HMAC-SHA256 of id NUL service, base64url> under the key', () => {
    expect(new StreamTickets(streamTicketKey(SECRET)).issue(actor(ID), 'web')).toBe(`${ID}.${MAC_OF_DEMO_WEB}`);
  });

  it('takes its own ticket for the same service and answers the actor of that token id', () => {
    const tickets = new StreamTickets();
    const ticket = tickets.issue(actor('tok_01JAAAAAAAAAAAAAAAAAAAAAAA'), 'web');
    expect(ticket).toMatch(/^tok_01JAAAAAAAAAAAAAAAAAAAAAAA\.[A-Za-z0-9_-]{43}$/);
    expect(tickets.verify(ticket, 'web', lookup('tok_01JAAAAAAAAAAAAAAAAAAAAAAA', 'tok_other'))).toEqual(actor('tok_01JAAAAAAAAAAAAAAAAAAAAAAA'));
  });

  it('instances given one key take each other\'s tickets; instances with their own random keys do not', () => {
    const a = new StreamTickets(streamTicketKey(SECRET));
    const b = new StreamTickets(streamTicketKey(SECRET));
    expect(b.verify(a.issue(actor(ID), 'web'), 'web', lookup(ID))).toEqual(actor(ID));
    expect(refusal(() => new StreamTickets(streamTicketKey('other')).verify(a.issue(actor(ID), 'web'), 'web', lookup(ID)))).toBe(FORGED);
    const r1 = new StreamTickets();
    const r2 = new StreamTickets();
    expect(r1.verify(r1.issue(actor(ID), 'web'), 'web', lookup(ID))).toEqual(actor(ID));
    expect(refusal(() => r2.verify(r1.issue(actor(ID), 'web'), 'web', lookup(ID)))).toBe(FORGED);
  });

  it('refuses a ticket for another service, and one whose id was swapped for another token', () => {
    const tickets = new StreamTickets(streamTicketKey(SECRET));
    const forWeb = tickets.issue(actor(ID), 'web');
    expect(refusal(() => tickets.verify(forWeb, 'search', lookup(ID)))).toBe(FORGED);
    const mac = forWeb.split('.')[1]!;
    expect(refusal(() => tickets.verify(`tok_other.${mac}`, 'web', lookup(ID, 'tok_other')))).toBe(FORGED);
    // The separator keeps (id, service) pairs apart: id "a" + service "bweb" is not id "ab" + "web".
    expect(tickets.issue(actor('ab'), 'web').split('.')[1]).not.toBe(tickets.issue(actor('a'), 'bweb').split('.')[1]);
  });

  it('refuses anything not exactly <id>.<43 MAC characters>, whatever surrounds a valid ticket', () => {
    const tickets = new StreamTickets(streamTicketKey(SECRET));
    const good = tickets.issue(actor(ID), 'web');
    const long = 'x'.repeat(65);
    const bad = [
      '',
      '.',
      ID,
      `${ID}.`,
      `!${good}`, // junk before a valid ticket
      `x.${good}`,
      `${good}x`, // junk after
      `${good}.x`,
      `${ID}.${MAC_OF_DEMO_WEB.slice(1)}`, // 42 MAC characters
      `${ID}.${MAC_OF_DEMO_WEB.slice(0, 42)}=`,
      `${ID}.${MAC_OF_DEMO_WEB.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}`, // one MAC character changed
      `${long}.${tickets.issue(actor(long), 'web').split('.')[1]}`, // an id longer than 64 characters, correctly signed
      `t k.${tickets.issue(actor('t k'), 'web').split('.')[1]}`, // an id outside base64url, correctly signed
    ];
    for (const ticket of bad) expect(refusal(() => tickets.verify(ticket, 'web', lookup(ID, long, 't k'))), ticket).toBe(FORGED);
    // The bounds themselves are fine: a one-character id and a 64-character one.
    for (const id of ['t', 'y'.repeat(64)]) expect(tickets.verify(tickets.issue(actor(id), 'web'), 'web', lookup(id))).toEqual(actor(id));
  });

  it("a valid ticket of a revoked or unknown token is refused by the lookup's 401", () => {
    const tickets = new StreamTickets();
    const ticket = tickets.issue(actor(ID), 'web');
    expect(refusal(() => tickets.verify(ticket, 'web', lookup()))).toBe('401 unauthorized: The token behind this ticket is unknown or revoked');
  });
});
