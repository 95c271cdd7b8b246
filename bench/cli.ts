import { parseArgs } from 'node:util';
import { table, writeReport } from './kit/report.ts';
import { findScenario, listScenarios, type CommonOptions, type Scenario } from './scenarios.ts';

const help = () => `usage: npm run bench -- <scenario> [options]

scenarios:
${listScenarios().map((s) => `  ${s.name.padEnd(10)} ${s.summary}`).join('\n')}

options:
  --duration SECONDS     measured time (default 30; e2e: per trial)
  --warmup SECONDS       load before measuring starts, not measured (default 5; e2e: before every trial)
  --rate N               open-loop rate, messages per second (e2e: alone, ONE trial per system at N;
                         with --p99, where the search starts; default 100)
  --p99 MS               e2e: search for the highest rate whose p99 stays <= MS with nothing missing,
                         duplicated or out of order (default when --rate is not given: 50)
  --messages N           backlog or batch size, where the scenario has one
  --guilds N             guilds in the synthetic world (default 200)
  --channels N           channels per guild (default 4)
  --size MIN-MAX         message content length in bytes (default 20-400)
  --clients N            websocket sessions subscribed (default 100)
  --kafka-client kafkajs|platformatic|both
                         ingest, persist, e2e: the Kafka seam's implementation (KAFKA_CLIENT; by
                         default ingest platformatic, persist kafkajs, e2e each role's own); both
                         (ingest, persist): the two alternated in one run, platformatic ÷ kafkajs

edge-interest only:
  --partitions N         partitions of the deliveries topic (default 12; a multiple of 4)

e2e only:
  --shape broadcast|sharded
                         broadcast: every session receives every guild (default); sharded: session i
                         identifies as bot shard [i, N] (N = --clients), each event reaches one session
  --client-procs N       measuring-client processes the sessions are spread over (default 2)
  --baseline plain|none  also find the plain pipeline's ceiling in the same run (default plain)
  --servers-warmup SECONDS
                         unmeasured load through guildcast at the first rate before any trial, so
                         Kafka's and Cassandra's JITs are warm for both systems (default 120; 0: none)
  --layout roles|one     guildcast's ingest, fanout and edge each in a process of their own (default),
                         or all in one process (\`guildcast all\`, as the plain pipeline is one)
  result.json top level: shape, sessions, ceiling_msg_per_s, ceiling_p50_ms, ceiling_p99_ms,
  plain_ceiling_msg_per_s, missing, duplicated, out_of_order (at the ceiling), trials

Results: a table here, and result.json, report.md and SVG charts under bench/results/<scenario>-<time>/.
Needs the local Kafka and Cassandra: npm run infra -- up.`;

export type ParsedBenchArgs = { help: string; exitCode: number } | { usage: string } | { scenario: Scenario; options: CommonOptions };

/** The command line as a scenario and its options, or what to print instead (help, or a usage error). */
export function parseBenchArgs(argv: string[]): ParsedBenchArgs {
  let parsed;
  try {
    parsed = parseFlags(argv);
  } catch (err) {
    // node:util's own refusals (an unknown flag, a missing value) are usage errors like ours.
    if (String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) return { usage: `${(err as Error).message}\n\n${help()}` };
    throw err;
  }
  const { positionals, values } = parsed;
  const name = positionals[0];
  if (values.help || !name) return { help: help(), exitCode: values.help ? 0 : 2 };
  const scenario = findScenario(name);
  if (!scenario) return { usage: `unknown scenario "${name}"\n\n${help()}` };
  const int = (flag: string, value: string | undefined, fallback?: number, { zero = false } = {}): number | undefined => {
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < (zero ? 0 : 1)) throw new UsageError(`--${flag} expects a ${zero ? 'whole number' : 'positive whole number'}, got "${value}"`);
    return Number(value);
  };
  let options: CommonOptions;
  try {
    const size = values.size ?? '20-400';
    const m = /^(\d+)-(\d+)$/.exec(size);
    if (!m || Number(m[1]) > Number(m[2]) || Number(m[2]) > 2000) throw new UsageError(`--size expects MIN-MAX with MIN <= MAX <= 2000, got "${size}"`);
    options = {
      durationSeconds: int('duration', values.duration, 30)!,
      warmupSeconds: int('warmup', values.warmup, 5)!,
      guilds: int('guilds', values.guilds, 200)!,
      channelsPerGuild: int('channels', values.channels, 4)!,
      contentBytes: { min: Number(m[1]), max: Number(m[2]) },
      clients: int('clients', values.clients, 100)!,
      ...(values.rate !== undefined ? { rate: int('rate', values.rate)! } : {}),
      ...(values.shape !== undefined ? { shape: oneOf('shape', values.shape, ['broadcast', 'sharded'] as const) } : {}),
      ...(values['client-procs'] !== undefined ? { clientProcesses: int('client-procs', values['client-procs'])! } : {}),
      ...(values.baseline !== undefined ? { baseline: oneOf('baseline', values.baseline, ['plain', 'none'] as const) } : {}),
      ...(values.layout !== undefined ? { layout: oneOf('layout', values.layout, ['roles', 'one'] as const) } : {}),
      ...(values['servers-warmup'] !== undefined ? { serversWarmupSeconds: int('servers-warmup', values['servers-warmup'], undefined, { zero: true })! } : {}),
      ...(values.messages !== undefined ? { messages: int('messages', values.messages)! } : {}),
      ...(values.p99 !== undefined ? { p99BoundMs: int('p99', values.p99)! } : {}),
      ...(values.partitions !== undefined ? { partitions: int('partitions', values.partitions)! } : {}),
      ...(values['kafka-client'] !== undefined ? { kafkaClient: oneOf('kafka-client', values['kafka-client'], ['kafkajs', 'platformatic', 'both'] as const) } : {}),
    };
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    return { usage: err.message };
  }
  return { scenario, options };
}

export async function benchCli(argv: string[]): Promise<number> {
  const parsed = parseBenchArgs(argv);
  if ('help' in parsed) {
    process.stdout.write(`${parsed.help}\n`);
    return parsed.exitCode;
  }
  if ('usage' in parsed) {
    process.stderr.write(`${parsed.usage}\n`);
    return 2;
  }
  const { scenario, options } = parsed;
  const result = await scenario.run(options);
  process.stdout.write(`\n${table(result)}\n\n`);
  process.stdout.write(`report: ${await writeReport(result)}\n`);
  return result.checks && Object.values(result.checks).some((v) => v > 0) ? 1 : 0;
}

function parseFlags(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rate: { type: 'string' },
      p99: { type: 'string' },
      messages: { type: 'string' },
      guilds: { type: 'string' },
      channels: { type: 'string' },
      size: { type: 'string' },
      clients: { type: 'string' },
      shape: { type: 'string' },
      'client-procs': { type: 'string' },
      baseline: { type: 'string' },
      layout: { type: 'string' },
      'servers-warmup': { type: 'string' },
      'kafka-client': { type: 'string' },
      partitions: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

class UsageError extends Error {}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${flag} expects one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}
