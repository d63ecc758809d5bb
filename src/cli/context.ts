import { ApiClient } from './api-client.js';
import { resolveConnection, type Connection } from './config.js';
import type { ExitCode } from './exit-codes.js';
import { escapeDeep, escapeLines } from './format.js';

/** Where the CLI writes and what it reads from its process; tests and main.ts supply it. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  version: string;
}

export interface GlobalOptions {
  url?: string;
  token?: string;
  config?: string;
  json?: boolean;
}

/**
 * What a command needs: its options merged with the global ones, the connection (resolved only
 * when a command talks to the server, so `policy build` never trips over a bad config file), and
 * output that honours `--json`.
 */
export class CommandContext {
  private conn: Connection | undefined;
  private api: ApiClient | undefined;

  constructor(
    readonly io: Io,
    readonly globals: GlobalOptions,
  ) {}

  get json(): boolean {
    return this.globals.json === true;
  }

  connection(): Connection {
    this.conn ??= resolveConnection({ flags: { url: this.globals.url, token: this.globals.token, config: this.globals.config }, env: this.io.env });
    return this.conn;
  }

  /** The connection if one was resolved, for error hints. */
  resolved(): Connection | undefined {
    return this.conn;
  }

  client(): ApiClient {
    if (!this.api) {
      const c = this.connection();
      this.api = new ApiClient(c.url, c.token, `switchyard-cli/${this.io.version}`);
    }
    return this.api;
  }

  /** Human text, one trailing newline; control characters escaped (see escapeText). */
  print(text: string): void {
    this.io.out(escapeLines(text.endsWith('\n') ? text : `${text}\n`));
  }

  printJson(value: unknown): void {
    this.io.out(`${JSON.stringify(value, null, 2)}\n`);
  }

  /**
   * `--json` prints `value` exactly; otherwise `human` renders a copy of it whose strings are
   * escaped (escapeDeep), so a stored value's newline or ESC cannot forge a line of output.
   */
  output<T>(value: T, human: (safe: T) => string): void {
    if (this.json) this.printJson(value);
    else this.print(human(escapeDeep(value)));
  }
}

/** A command's body: its positional arguments, its options (merged with the global ones). */
export type Handler<O = Record<string, unknown>> = (ctx: CommandContext, args: unknown[], opts: O) => Promise<ExitCode | void>;

/** Turns a handler into a commander action; the program supplies it (it records the exit code). */
export type Runner = <O>(handler: Handler<O>) => (...commanderArgs: unknown[]) => Promise<void>;
