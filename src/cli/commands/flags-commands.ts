import type { Command } from 'commander';
import { compileDocument, type FlagsDocument, type FlagState, type Resolution } from '../../evaluation/index.js';
import { parseFlagsDocument } from '../../sdk/document-check.js';
import { pathOf, type ApiClient } from '../api-client.js';
import type { Runner } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { escapeDeep, escapeText, showValue, table } from '../format.js';
import { collectPair, readObject } from '../input.js';
import { audienceText } from './intent-commands.js';

function exposureText(f: FlagState): string {
  const e = f.allocation.exposure;
  const pct = Math.round(((e.end - e.start) / e.total) * 10000) / 100;
  return `${pct}% [${e.start},${e.end}) of ${e.seed}`;
}

function variantsText(f: FlagState): string {
  return f.allocation.variants.buckets.map(([k, w]) => `${k}=${showValue(f.variants[k])} (${w})`).join(', ');
}

function documentText(doc: FlagsDocument, etag: string | null): string {
  const head = `${doc.service}: flags version ${doc.version}${etag ? `, ETag ${etag}` : ''}`;
  const entries = Object.entries(doc.flags);
  if (entries.length === 0) return `${head}\nno flags`;
  const rows = entries.map(([key, f]) => [
    key,
    f.state,
    `${f.experiment.key} v${f.experiment.version}`,
    f.default_variant,
    variantsText(f),
    exposureText(f),
    f.audience.map(audienceText).join(' and ') || 'everyone',
  ]);
  return `${head}\n${table(['FLAG', 'STATE', 'EXPERIMENT', 'DEFAULT', 'VARIANTS (WEIGHT)', 'EXPOSURE', 'AUDIENCE'], rows)}`;
}

async function fetchDocument(client: ApiClient, service: string) {
  const res = await client.fetchJson<unknown>('GET', pathOf('/v1/services/{service}/flags', { service }));
  return { doc: res.body, etag: res.headers.get('etag') };
}

function resolutionText(service: string, r: Resolution, doc: FlagsDocument, unit: string | undefined): string {
  const name = `${service}/${r.flag}`;
  if (r.reason === 'ERROR') return `${name}: ${r.errorCode}: ${r.errorMessage}`;
  const f = doc.flags[r.flag];
  const about = [`flags version ${doc.version}`, f ? `experiment ${f.experiment.key} v${f.experiment.version}` : '', unit ? `unit ${unit}` : ''].filter(Boolean);
  return `${name}: ${r.variant} = ${showValue(r.value)} (${r.reason})\n  ${about.join(', ')}`;
}

export function registerFlagsCommands(program: Command, run: Runner): void {
  const flags = program.command('flags').description("read a service's flag states and evaluate them");

  flags
    .command('get')
    .description("a service's resolved flags document (GET /v1/services/{service}/flags)")
    .argument('<service>', 'the service')
    .action(
      run(async (ctx, [service]) => {
        const { doc, etag } = await fetchDocument(ctx.client(), String(service));
        ctx.output(doc, (doc) => documentText(doc as FlagsDocument, etag));
      }),
    );

  flags
    .command('eval')
    .description("evaluate one flag locally for a context, with the server's own evaluation; exit 2 on an evaluation error")
    .argument('<service>', 'the service')
    .argument('<flag>', 'the flag key')
    .option('-c, --context <key=value>', 'a context attribute; the value is JSON when it parses, else a string (repeatable)', collectPair)
    .option('--context-file <file>', 'context attributes from a YAML or JSON object (--context wins)')
    .action(
      run<{ context?: [string, unknown][]; contextFile?: string }>(async (ctx, [service, flag], o) => {
        const svc = String(service);
        const context: Record<string, unknown> = o.contextFile ? { ...readObject(o.contextFile, 'context') } : {};
        for (const [k, v] of o.context ?? []) context[k] = v;
        const { doc } = await fetchDocument(ctx.client(), svc);
        const checked = parseFlagsDocument(JSON.stringify(doc), svc);
        if (!checked.ok) throw new CliError(ExitCode.apiError, `the flags document of ${svc} cannot be evaluated: ${checked.problem}`);
        const r = compileDocument(checked.doc).evaluate(String(flag), context);
        const f = checked.doc.flags[String(flag)];
        const unitKey = f?.allocation.unit;
        const unit = unitKey !== undefined && context[unitKey] !== undefined ? `${unitKey}=${showValue(context[unitKey])}` : context['targetingKey'] !== undefined ? `targetingKey=${showValue(context['targetingKey'])}` : undefined;
        ctx.output({ service: svc, flags_version: checked.doc.version, ...r }, () => resolutionText(escapeText(svc), escapeDeep(r), escapeDeep(checked.doc), unit === undefined ? undefined : escapeText(unit)));
        return r.reason === 'ERROR' ? ExitCode.apiError : ExitCode.ok;
      }),
    );
}
