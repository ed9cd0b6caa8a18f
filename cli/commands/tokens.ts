import { Option, type Command } from 'commander';
import { CredentialRole, CreatedToken, TokenList } from '../../core/contract/identity.js';
import { contextOf } from '../context.js';
import { shortTime } from '../output.js';

const encode = encodeURIComponent;

/** API tokens (admins): list, create (the secret is shown this once), revoke. */
export function registerTokenCommands(program: Command): void {
  const tokens = program
    .command('tokens')
    .description('list the API tokens (admin); never their secrets')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = contextOf(command);
      const list = await client.get('/tokens', { schema: TokenList });
      if (out.json) return out.data(list);
      out.table(
        ['NAME', 'ROLE', 'CREATED', 'BY'],
        list.tokens.map((token) => [token.name, token.role, token.builtin ? 'built in' : shortTime(token.created_at), token.created_by]),
      );
    });
  tokens
    .command('create')
    .description('create a token; its secret is printed once')
    .argument('<name>', 'who or what holds it (shown in histories and the audit log)')
    .addOption(new Option('--role <role>', 'what it may do').choices(CredentialRole.options).makeOptionMandatory())
    .action(async (name: string, options: { role: string }, command: Command) => {
      const { out, client } = contextOf(command);
      const created = await client.post('/tokens', { body: { name, role: options.role }, schema: CreatedToken });
      if (out.json) return out.data(created);
      out.progress(`token "${created.name}" (${created.role}) created; its secret, shown this once:`);
      out.text(created.token);
    });
  tokens
    .command('revoke')
    .description('revoke a token: its next request is a 401')
    .argument('<name>', 'the token')
    .action(async (name: string, _options: unknown, command: Command) => {
      const { out, client } = contextOf(command);
      await client.delete(`/tokens/${encode(name)}`);
      if (out.json) return out.data({ revoked: name });
      out.text(`token "${name}" revoked`);
    });
}
