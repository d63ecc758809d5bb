import { Command, CommanderError } from 'commander';
import { ApiError, type Problem } from './api-client.js';
import { registerAuditCommands } from './commands/audit-commands.js';
import { registerFlagsCommands } from './commands/flags-commands.js';
import { registerIntentCommands } from './commands/intent-commands.js';
import { registerPolicyCommands } from './commands/policy-commands.js';
import { registerTokenCommands } from './commands/token-commands.js';
import { CommandContext, type GlobalOptions, type Handler, type Io, type Runner } from './context.js';
import { CliError, ExitCode } from './exit-codes.js';
import { escapeDeep, escapeLines, escapeText } from './format.js';

const EXAMPLES = `
Connection: --url/--token, else SWITCHYARD_URL/SWITCHYARD_TOKEN, else the config file
(--config, default ~/.config/switchyard/config.yaml, keys url and token).

Exit codes: 0 ok (also pending approval), 1 usage, 2 API or client error, 3 denied,
4 unauthorized or forbidden, 5 server error. See docs/cli.md.

Examples:
  switchyard intent evaluate -f docs/examples/denied.json
  switchyard intent submit -f intent.yaml
  switchyard approve checkout-redesign --comment "capacity ok"
  switchyard flags eval web checkout_redesign --context user_id=user-42 --context locale=en-US
  switchyard policy build && switchyard policy publish --dry-run`;

/** Prints an API error as `code: detail` with its field errors, or the problem itself with --json. */
function reportApiError(err: ApiError, ctx: CommandContext | undefined, io: Io): void {
  if (ctx?.json) {
    io.out(`${JSON.stringify(err.problem ?? { status: err.status, body: err.bodyText }, null, 2)}\n`);
    return;
  }
  const p: Problem | undefined = err.problem === undefined ? undefined : escapeDeep(err.problem);
  const lines = p ? [`${p.code}: ${p.detail ?? p.title ?? ''}`] : [`HTTP ${err.status} from ${err.method} ${err.url}${err.bodyText ? `: ${escapeText(err.bodyText.slice(0, 200))}` : ''}`];
  for (const e of p?.errors ?? []) lines.push(`  ${e.path}: ${e.message}`);
  if (p?.correlation_id) lines.push(`  (correlation id ${String(p.correlation_id)})`);
  if (p?.code === 'intent_exists') lines.push('  a new version of an existing intent: switchyard intent update -f <file>');
  const conn = ctx?.resolved();
  if (err.status === 401 && conn && conn.token === undefined) {
    lines.push(`  no token was sent: pass --token, set SWITCHYARD_TOKEN, or put "token:" in ${conn.from.file}`);
  }
  io.err(escapeLines(`${lines.join('\n')}\n`));
}

/**
 * Builds and runs the CLI on `argv` (the arguments after the program name) and returns the exit
 * code. It never calls process.exit, so tests can run it in-process and main.ts decides.
 */
export async function runCli(argv: string[], io: Io): Promise<number> {
  let exitCode: number = ExitCode.ok;
  let ctx: CommandContext | undefined;

  const run: Runner =
    <O>(handler: Handler<O>) =>
    async (...commanderArgs: unknown[]) => {
      const cmd = commanderArgs[commanderArgs.length - 1] as Command;
      const opts = cmd.optsWithGlobals();
      ctx = new CommandContext(io, opts as GlobalOptions);
      exitCode = (await handler(ctx, commanderArgs.slice(0, -2), opts as O)) ?? ExitCode.ok;
    };

  const program = new Command('switchyard')
    .description('Switchyard from the command line: experiment intents, decisions, approvals, flags, policies, audit')
    .version(io.version, '-V, --version')
    .option('--url <url>', 'server URL (env SWITCHYARD_URL; default http://127.0.0.1:8080)')
    .option('--token <token>', 'bearer token (env SWITCHYARD_TOKEN)')
    .option('--config <file>', 'config file with url and token (default ~/.config/switchyard/config.yaml)')
    .option('--json', 'print the server\'s JSON instead of text, for scripts')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(escapeLines(s)), writeErr: (s) => io.err(escapeLines(s)) })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', EXAMPLES);

  registerIntentCommands(program, run);
  registerFlagsCommands(program, run);
  registerPolicyCommands(program, run);
  registerAuditCommands(program, run);
  registerTokenCommands(program, run);

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    if (err instanceof ApiError) {
      reportApiError(err, ctx, io);
      return err.exitCode;
    }
    if (err instanceof CliError) {
      io.err(escapeLines(`error: ${err.message}\n`));
      return err.exitCode;
    }
    io.err(`error: unexpected failure in the CLI: ${(err as Error)?.stack ?? String(err)}\n`);
    return ExitCode.apiError;
  }
}
