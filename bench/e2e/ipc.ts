import type { ChildProcess } from 'node:child_process';

/**
 * Request/answer over a child's IPC channel: `ask(child, {cmd})` resolves with the child's next
 * message of that `cmd`. Every bench process answers each command with a message of the same name.
 */
export function mailbox(child: ChildProcess, name: string) {
  const waiting = new Map<string, ((m: never) => void)[]>();
  let exited: Error | undefined;
  const failAll = (err: Error) => {
    exited = err;
    for (const list of waiting.values()) for (const w of list.splice(0)) (w as unknown as (e: Error) => void)(err);
  };
  child.on('message', (m: { cmd: string }) => waiting.get(m.cmd)?.shift()?.(m as never));
  child.once('exit', (code, signal) => failAll(new Error(`${name} exited (${signal ?? code}) while the bench waited on it`)));
  return <T = Record<string, unknown>>(message: { cmd: string; [k: string]: unknown }, timeoutMs = 300_000) =>
    new Promise<T>((resolve, reject) => {
      if (exited) return reject(exited);
      const timer = setTimeout(() => reject(new Error(`${name} did not answer "${message.cmd}" within ${timeoutMs / 1000}s`)), timeoutMs);
      const list = waiting.get(message.cmd) ?? [];
      list.push(((m: T | Error) => {
        clearTimeout(timer);
        if (m instanceof Error) reject(m);
        else resolve(m);
      }) as never);
      waiting.set(message.cmd, list);
      child.send(message);
    });
}

/** The child side: answers each command with the handler's result under the same `cmd`. */
export function serve(handlers: Record<string, (m: never) => unknown>): void {
  process.on('message', async (m: { cmd: string }) => {
    const handler = handlers[m.cmd];
    try {
      if (!handler) throw new Error(`unknown command ${m.cmd}`);
      const out = (await handler(m as never)) ?? {};
      process.send!({ ...(out as object), cmd: m.cmd });
    } catch (err) {
      process.stderr.write(`[${process.title}] ${m.cmd} failed: ${(err as Error).stack ?? err}\n`);
      process.exit(1);
    }
  });
  // The driver going away takes every bench process with it.
  process.on('disconnect', () => process.exit(0));
}

/** The child's first message of `cmd` (its start-up announcement). */
export function waitFor(child: ChildProcess, cmd: string, name: string, timeoutMs = 120_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${timeoutMs / 1000}s`)), timeoutMs);
    const onExit = (code: number | null) => (clearTimeout(timer), reject(new Error(`${name} exited (${code}) during start-up`)));
    child.once('exit', onExit);
    const onMessage = (m: { cmd: string }) => {
      if (m.cmd !== cmd) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve();
    };
    child.on('message', onMessage);
  });
}
