/**
 * Tickets for the OFREP event stream (OFREP ADR-0008): an `EventSource` cannot send an
 * `Authorization` header, so the stream URL a bulk answer advertises carries a ticket instead.
 *
 * A ticket is `<token id>.<MAC>` with the MAC an HMAC-SHA256, under a server key, of the token id and
 * one service. It names the token without carrying its secret, and is good only for that service's
 * change notifications (versions, ETags, times: never a flag's content). It lives as long as its
 * token: each use looks the token up by id, so a revoked token's tickets stop at once.
 *
 * The key is per process unless one is given (AppOptions.streamTicketKey, derived by
 * `streamTicketKey` from SWITCHYARD_STREAM_TICKET_SECRET): without it a ticket from one instance is
 * refused by another, and a provider gets a fresh one with its next bulk answer.
 */
import crypto from 'node:crypto';
import { UnauthorizedError } from '../errors.js';
import type { Actor } from './actor.js';

/** What verifying a ticket needs: the actor of an active token id (TokenService.actorById). */
export interface TokenLookup {
  actorById(id: string): Actor;
}

const MAC_CHARS = 43;
const TICKET = /^([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{43})$/;

/**
 * The ticket key of a configured secret: HKDF-SHA256 with a fixed label, so every instance given
 * the same secret signs and takes the same tickets, and the secret itself is never the MAC key.
 */
export function streamTicketKey(secret: string): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', secret, 'switchyard', 'ofrep-stream-ticket/v1', 32));
}

export class StreamTickets {
  private readonly key: Buffer;

  constructor(key?: Buffer) {
    this.key = key ?? crypto.randomBytes(32);
  }

  private mac(tokenId: string, service: string): string {
    return crypto.createHmac('sha256', this.key).update(`${tokenId}\0${service}`).digest('base64url').slice(0, MAC_CHARS);
  }

  issue(actor: Actor, service: string): string {
    return `${actor.tokenId}.${this.mac(actor.tokenId, service)}`;
  }

  /** The actor a ticket for `service` stands for; 401 for a forged, foreign or revoked one. */
  verify(ticket: string, service: string, tokens: TokenLookup): Actor {
    const m = TICKET.exec(ticket);
    const given = m ? Buffer.from(m[2]!) : undefined;
    const expected = m ? Buffer.from(this.mac(m[1]!, service)) : undefined;
    if (!given || !expected || !crypto.timingSafeEqual(given, expected)) {
      throw new UnauthorizedError('The stream ticket is not valid for this service; fetch the bulk evaluation again for a fresh one');
    }
    return tokens.actorById(m![1]!);
  }
}
