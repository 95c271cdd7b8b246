import type { z } from 'zod';
import { kafkaEnv } from '../core/kafka/config.ts';
import { storeEnv } from '../store/index.ts';
import { fanoutEnv } from '../fanout/index.ts';
import { edgeEnv } from '../gateway-proxy/index.ts';
import { ingestEnv } from '../ingest/index.ts';
import { simulatorEnv } from '../infra/discord-sim/index.ts';
import { apiEnv } from './roles/api-config.ts';
import { allEnv } from './roles/all.ts';

/**
 * The README's configuration table, generated from the same schemas the roles validate with, so
 * it cannot drift: `npx tsx bin/env-table.ts` prints it; a test checks the README carries it.
 */
const groups: [string, Record<string, z.ZodType>][] = [
  ['all roles', { LOG_LEVEL: undefined as never, ...kafkaEnv }],
  ['store (fanout, api)', storeEnv],
  ['ingest', omit(ingestEnv, kafkaEnv)],
  ['fanout', omit(fanoutEnv, { ...kafkaEnv, ...storeEnv })],
  ['edge (and api: its tokens)', omit(edgeEnv, kafkaEnv)],
  ['api', omit(apiEnv, { ...kafkaEnv, ...storeEnv, FANOUT_GROUP_ID: fanoutEnv.FANOUT_GROUP_ID, EDGE_TOKEN_SECRET: edgeEnv.EDGE_TOKEN_SECRET, NODE_ENV: edgeEnv.NODE_ENV })],
  ['all (npm start)', omit(allEnv, { DISCORD_TOKEN: ingestEnv.DISCORD_TOKEN, INGEST_HTTP_TOKEN: ingestEnv.INGEST_HTTP_TOKEN })],
  ['sim (gateway simulator)', simulatorEnv],
];

function omit(schema: Record<string, z.ZodType>, shared: Record<string, unknown>): Record<string, z.ZodType> {
  return Object.fromEntries(Object.entries(schema).filter(([k]) => !(k in shared)));
}

function defaultOf(type: z.ZodType | undefined): string {
  if (!type) return 'info';
  const parsed = type.safeParse(undefined);
  if (!parsed.success || parsed.data === undefined) return '';
  if (JSON.stringify(type.safeParse(undefined).data) !== JSON.stringify(parsed.data)) return 'random per process';
  const value = parsed.data;
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'object' && value !== null) return Object.entries(value).map(([k, v]) => `${k}=${v}`).join(' ');
  return String(value);
}

export function envTable(): string {
  const rows = ['| variable | used by | default | expects |', '|---|---|---|---|'];
  for (const [group, schema] of groups)
    for (const [name, type] of Object.entries(schema)) {
      const expects = type ? (type.description ?? '') : 'trace, debug, info, warn, error, fatal or silent';
      rows.push(`| \`${name}\` | ${group} | ${defaultOf(type) ? `\`${defaultOf(type)}\`` : '(unset)'} | ${expects} |`);
    }
  return rows.join('\n');
}

export const envVariables = (): string[] => groups.flatMap(([, schema]) => Object.keys(schema));

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${envTable()}\n`);
