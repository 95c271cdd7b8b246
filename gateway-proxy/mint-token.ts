import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadEnv } from '../core/config.ts';
import { edgeEnv, tokenSecret } from './config.ts';
import { createTokenSigner, parseDuration } from './tokens.ts';

const USAGE = 'usage: mint-token --guilds <id,id,...|*> [--ttl 24h] [--name <bot username>] [--sub <snowflake>] (without --sub: a random snowflake, the bot user\'s id)';

/**
 * Mints a guildcast access token for local use (`guildcast token`, or
 * `npx tsx gateway-proxy/mint-token.ts --guilds 1,2 --ttl 24h`). Signs with EDGE_TOKEN_SECRET.
 */
export async function mintTokenCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    options: { guilds: { type: 'string' }, ttl: { type: 'string', default: '24h' }, sub: { type: 'string' }, name: { type: 'string' } },
    strict: true,
  });
  if (!values.guilds) throw new Error(`--guilds is required\n${USAGE}`);
  const guilds = values.guilds.trim() === '*' ? '*' : values.guilds.split(',').map((g) => g.trim()).filter(Boolean);
  const config = loadEnv({ NODE_ENV: edgeEnv.NODE_ENV, EDGE_TOKEN_SECRET: edgeEnv.EDGE_TOKEN_SECRET }, env);
  // stdout carries only the token, so it can be captured: warnings go to stderr.
  const signer = createTokenSigner(tokenSecret(config, (message) => process.stderr.write(`warning: ${message}\n`)));
  return signer.mint({ subject: values.sub, username: values.name, guilds, ttlSeconds: parseDuration(values.ttl) });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  mintTokenCli(process.argv.slice(2)).then(
    (token) => console.log(token),
    (err: Error) => {
      console.error(err.message);
      process.exit(2);
    },
  );
}
