import { Option, type Command } from 'commander';
import { pathOf } from '../api-client.js';
import type { TokenCreated } from '../api-types.js';
import type { Runner } from '../context.js';
import { collect } from '../input.js';
import { ROLES, type Role } from '../../access/token-store.js';

export function registerTokenCommands(program: Command, run: Runner): void {
  const token = program.command('token').description('create and revoke API tokens (admin)');

  token
    .command('create')
    .description('create a token; its secret is printed once')
    .requiredOption('--name <name>', 'who or what holds it (shown as the actor in the audit trail)')
    .addOption(new Option('--role <role>', 'its role').choices(ROLES).makeOptionMandatory())
    .option('--team <team>', 'the team of an owner token')
    .option('--approval-role <role>', 'an approval role of an approver token, e.g. sre (repeatable)', collect)
    .option('--service <service>', 'the service of a service token')
    .action(
      run<{ name: string; role: Role; team?: string; approvalRole?: string[]; service?: string }>(async (ctx, _args, o) => {
        const body = {
          name: o.name,
          role: o.role,
          ...(o.team !== undefined ? { team: o.team } : {}),
          ...(o.approvalRole !== undefined ? { approval_roles: o.approvalRole } : {}),
          ...(o.service !== undefined ? { service: o.service } : {}),
        };
        const t = await ctx.client().request<TokenCreated>('POST', '/v1/tokens', { json: body });
        ctx.output(t, (t) => `created ${t.id} for ${t.name} (${t.role}); the token is shown only now:\n${t.token}`);
      }),
    );

  token
    .command('revoke')
    .description('revoke a token by id')
    .argument('<id>', 'the token id (tok_…)')
    .action(
      run(async (ctx, [id]) => {
        await ctx.client().request('DELETE', pathOf('/v1/tokens/{id}', { id: String(id) }));
        ctx.output({ id, revoked: true }, () => `revoked ${String(id)}`);
      }),
    );
}
