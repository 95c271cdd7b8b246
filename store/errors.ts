import cassandra from 'cassandra-driver';

export interface ValidationFailure {
  /** Position of the offending item in the batch the caller passed; absent for a single request. */
  index?: number;
  reason: string;
}

/**
 * Input the store will never accept: retrying cannot help, so the caller should dead-letter the
 * items named in `failures` (a batch that contains one is rejected whole, before anything is written).
 */
export class StoreValidationError extends Error {
  override name = 'StoreValidationError';
  constructor(readonly failures: readonly ValidationFailure[]) {
    super(`invalid store input: ${failures.map((f) => (f.index === undefined ? f.reason : `#${f.index}: ${f.reason}`)).join('; ')}`);
  }
}

/**
 * The database could not be reached or did not answer in time. Nothing is wrong with the input:
 * the caller should pause and retry (the consumer), or answer 503 (the API).
 */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const { responseErrorCodes: codes } = cassandra.types;
const transientCodes = new Set<number>([
  codes.unavailableException,
  codes.overloaded,
  codes.isBootstrapping,
  codes.truncateError,
  codes.writeTimeout,
  codes.readTimeout,
  codes.readFailure,
  codes.writeFailure,
]);

/** Whether a driver error means "the cluster cannot serve this now" rather than "this request is wrong". */
export function isUnavailable(err: unknown): boolean {
  const { errors } = cassandra;
  if (err instanceof errors.NoHostAvailableError) return true;
  if (err instanceof errors.OperationTimedOutError) return true;
  if (err instanceof errors.BusyConnectionError) return true;
  if (err instanceof errors.ResponseError) return transientCodes.has(err.code);
  return false;
}

/** Runs a database call, turning unavailability into StoreUnavailableError; other errors pass through. */
export async function guardUnavailable<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (isUnavailable(err)) throw new StoreUnavailableError(`${what}: ${(err as Error).message}`, { cause: err });
    throw err;
  }
}
