import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheDir, mavenPomDir } from './paths.ts';

/**
 * Copies a server's runtime jars from Maven Central into `libsDir` once. The copy goes to a
 * temporary folder that is renamed into place only when Maven finished, so an interrupted fetch
 * is retried instead of leaving half a server behind.
 */
export async function fetchJars(
  pom: 'kafka' | 'cassandra',
  versionProperty: string,
  version: string,
  libsDir: string,
  log: (line: string) => void,
  profiles: string[] = [],
): Promise<boolean> {
  const marker = join(libsDir, '.complete');
  if (existsSync(marker)) return false;
  const staging = `${libsDir}.partial`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  log(`fetching ${pom} ${version} from Maven Central into ${libsDir}`);
  await run('mvn', [
    '-q',
    '-B',
    // Our own Maven repository inside the cache: one folder to delete for a truly cold start.
    `-Dmaven.repo.local=${join(cacheDir, 'm2')}`,
    '-f',
    join(mavenPomDir, pom, 'pom.xml'),
    'dependency:copy-dependencies',
    `-D${versionProperty}=${version}`,
    '-DincludeScope=runtime',
    `-DoutputDirectory=${staging}`,
    ...(profiles.length > 0 ? [`-P${profiles.join(',')}`] : []),
  ]);
  await writeFile(join(staging, '.complete'), new Date().toISOString());
  await rm(libsDir, { recursive: true, force: true });
  await rename(staging, libsDir);
  return true;
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', (err) => reject(new Error(`${command} could not start: ${err.message} (is Maven installed?)`)));
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${output.slice(-4000)}`)),
    );
  });
}
