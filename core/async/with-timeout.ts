/**
 * `work`'s outcome, or a rejection with `onTimeout()` once `ms` have passed, whichever comes
 * first: a readiness check or a request never hangs on a dependency that stopped answering. The
 * timer is cleared either way, so a settled race leaves nothing keeping the process alive. `work`
 * itself is not cancelled (a driver call cannot be); its late outcome is ignored.
 */
export function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error = () => new Error(`no answer within ${ms} ms`)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, timedOut]).finally(() => clearTimeout(timer));
}
