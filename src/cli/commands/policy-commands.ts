import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { Runner } from '../context.js';
import type { PublishResult } from '../api-types.js';
import { violationLine } from '../decision-text.js';
import { CliError, ExitCode, usageError } from '../exit-codes.js';
import { plural, shortRevision, table } from '../format.js';
import { buildArgs, DEFAULT_BUNDLE, DEFAULT_CAPABILITIES, locateOpa, runOpa, sourceRevision } from '../opa.js';

/** The impact report as a table: each live experiment's verdict now and under the candidate. */
export function impactText(r: PublishResult): string {
  const head = r.dry_run
    ? `dry run: candidate ${shortRevision(r.revision)} against active ${shortRevision(r.previous_revision)}; nothing was changed`
    : `published ${shortRevision(r.revision)} (was ${shortRevision(r.previous_revision)}); it is active now`;
  const i = r.impact;
  const summary = `${plural(i.evaluated, 'live experiment')} re-evaluated: ${i.would_deny} would be denied, ${i.changed} would change`;
  if (i.experiments.length === 0) return `${head}\n${summary}`;
  const rows = i.experiments.map((e) => [e.key, String(e.version), e.state, e.old.status, e.new.status, e.changed ? 'yes' : 'no']);
  const lines = [head, summary, table(['EXPERIMENT', 'VERSION', 'STATE', 'NOW', 'CANDIDATE', 'CHANGED'], rows)];
  for (const e of i.experiments.filter((x) => x.new.violations.length > 0)) {
    lines.push(`${e.key} v${e.version} under the candidate:`, ...e.new.violations.map((v) => `  ${violationLine(v)}`));
  }
  if (!r.dry_run && i.would_deny > 0) lines.push('running experiments are not stopped by a stricter policy: pause or roll them back if needed');
  return lines.join('\n');
}

function opaFailed(what: string, status: number): CliError {
  return new CliError(ExitCode.apiError, `${what} failed (opa exited with ${status})`);
}

function requireDir(dir: string): void {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw usageError(`policy folder ${dir} does not exist`);
}

export function registerPolicyCommands(program: Command, run: Runner): void {
  const policy = program.command('policy').description('test, build and publish the Rego policies');
  const opaHelp = 'the opa binary (default: $SWITCHYARD_OPA, ./.tools/opa-v1.22.3/opa, then opa on PATH)';

  policy
    .command('test')
    .description('run the policy tests (opa test)')
    .option('--dir <dir>', 'the policy folder', 'policies')
    .option('--opa <path>', opaHelp)
    .option('-v, --verbose', 'list every test')
    .action(
      run<{ dir: string; opa?: string; verbose?: boolean }>(async (ctx, _args, o) => {
        requireDir(o.dir);
        const status = await runOpa(locateOpa(o.opa, ctx.io.env, ctx.io.cwd), ['test', ...(o.verbose ? ['-v'] : []), o.dir]);
        if (status !== 0) throw opaFailed('policy tests', status);
      }),
    );

  policy
    .command('build')
    .description('build the wasm bundle the server loads (opa build -t wasm -e switchyard/decision)')
    .option('--dir <dir>', 'the policy folder', 'policies')
    .option('-o, --output <file>', 'the bundle to write', DEFAULT_BUNDLE)
    .option('--capabilities <file>', `opa capabilities (default: ${DEFAULT_CAPABILITIES} when present)`)
    .option('--revision <rev>', 'manifest revision (default: a digest of the policy sources, as make does)')
    .option('--opa <path>', opaHelp)
    .action(
      run<{ dir: string; output: string; capabilities?: string; revision?: string; opa?: string }>(async (ctx, _args, o) => {
        requireDir(o.dir);
        const capabilities = o.capabilities ?? (fs.existsSync(DEFAULT_CAPABILITIES) ? DEFAULT_CAPABILITIES : undefined);
        if (capabilities && !fs.existsSync(capabilities)) throw usageError(`capabilities file ${capabilities} does not exist`);
        const revision = o.revision ?? sourceRevision(o.dir);
        fs.mkdirSync(path.dirname(path.resolve(o.output)), { recursive: true });
        const status = await runOpa(locateOpa(o.opa, ctx.io.env, ctx.io.cwd), buildArgs({ dir: o.dir, output: o.output, capabilities, revision }));
        if (status !== 0) throw opaFailed('policy build', status);
        const bytes = fs.statSync(o.output).size;
        ctx.output({ bundle: o.output, revision, bytes }, () => `built ${o.output} (revision ${revision}, ${bytes} bytes)`);
      }),
    );

  policy
    .command('publish')
    .description('publish a bundle (PUT /v1/policy) and print its impact on live experiments')
    .option('-f, --file <bundle>', 'the bundle', DEFAULT_BUNDLE)
    .option('--dry-run', 'only report the impact; activate nothing')
    .action(
      run<{ file: string; dryRun?: boolean }>(async (ctx, _args, o) => {
        let bytes: Buffer;
        try {
          bytes = fs.readFileSync(o.file);
        } catch (err) {
          throw usageError(`cannot read bundle ${o.file}: ${(err as Error).message}${o.file === DEFAULT_BUNDLE ? ' (run `switchyard policy build` first)' : ''}`);
        }
        const r = await ctx.client().request<PublishResult>('PUT', '/v1/policy', {
          body: bytes,
          contentType: 'application/gzip',
          ...(o.dryRun ? { query: { dry_run: 'true' } } : {}),
        });
        ctx.output(r, (r) => impactText(r));
      }),
    );
}
