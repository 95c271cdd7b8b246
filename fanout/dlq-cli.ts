import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createKafka } from '../core/kafka/client.ts';
import { loadKafkaConfig } from '../core/kafka/config.ts';
import { topicNames } from '../core/kafka/topics.ts';
import { createLogger } from '../core/logger.ts';
import { readDeadLetters, replayDeadLetters, type DeadLetterRecord } from './dlq.ts';

const usage = `usage: guildcast dlq <list|export|replay> [options]

  list                       print the dead letters as JSON lines (offset, stage, reason, source, key, value)
  export --out FILE          write them to FILE (JSON lines) to inspect or fix
  replay [--file FILE]       put dead letters back on the topic they came from: all of them, or
                             the (fixed) ones in FILE
  --from-offset N            list/export/replay only dead letters at or after offset N

Kafka settings come from the environment (KAFKA_BROKERS, KAFKA_TOPIC_PREFIX).`;

/** `guildcast dlq ...`; returns the exit code. */
export async function dlqCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { out: { type: 'string' }, file: { type: 'string' }, 'from-offset': { type: 'string' }, help: { type: 'boolean' } },
  });
  const command = positionals[0];
  if (values.help || !command || !['list', 'export', 'replay'].includes(command)) {
    (values.help ? process.stdout : process.stderr).write(`${usage}\n`);
    return values.help ? 0 : 2;
  }
  const fromOffset = values['from-offset'];
  if (fromOffset !== undefined && !/^\d+$/.test(fromOffset)) {
    process.stderr.write(`--from-offset expects a whole number, got "${fromOffset}"\n`);
    return 2;
  }
  const config = loadKafkaConfig(env);
  const kafka = createKafka(config, createLogger('dlq'));
  const topics = topicNames(config);

  let letters: DeadLetterRecord[];
  if (command === 'replay' && values.file) letters = parseLines(await readFile(values.file, 'utf8'), values.file);
  else letters = await readDeadLetters(kafka, topics.deadLetter, { fromOffset: BigInt(fromOffset ?? 0) });

  const lines = letters.map((l) => JSON.stringify(l)).join('\n') + (letters.length > 0 ? '\n' : '');
  if (command === 'list') process.stdout.write(lines);
  else if (command === 'export') {
    if (!values.out) {
      process.stderr.write('export needs --out FILE\n');
      return 2;
    }
    await writeFile(values.out, lines);
    process.stderr.write(`${letters.length} dead letters written to ${values.out}\n`);
  } else {
    const sent = await replayDeadLetters(kafka, letters, topics.events);
    process.stderr.write(`${sent} records replayed\n`);
  }
  return 0;
}

function parseLines(text: string, file: string): DeadLetterRecord[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        throw new Error(`${file}:${i + 1}: not JSON`);
      }
      const r = parsed as DeadLetterRecord;
      if (typeof r.offset !== 'string' || (r.value !== null && typeof r.value !== 'string'))
        throw new Error(`${file}:${i + 1}: expected {"offset": "...", "value": "...", ...} as written by dlq export`);
      return r;
    });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  dlqCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`dlq: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
