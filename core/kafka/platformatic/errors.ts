import { MultipleErrors, ProtocolError } from '@platformatic/kafka';

/**
 * Whether a failure of @platformatic/kafka says retrying cannot help, in the seam's terms
 * (`isRetriable`: an error whose `retriable` is false). kafkajs marks its errors itself; this
 * library has `canRetry` instead, and sets it false on transport failures that are worth
 * retrying too (a request timeout), so it cannot be taken as is. Only the broker's own refusals
 * count as final: at least one ProtocolError that the broker says cannot be retried (a record
 * too large for the topic, a topic not authorized), and nothing in the failure that could pass on
 * a second try. Anything else, ours or the library's, stays retriable, as unknown errors are.
 */
export function refusedForGood(error: unknown): boolean {
  const leaves = leavesOf(error);
  const refusals = leaves.filter((e) => isProtocolError(e) && e.canRetry === false);
  return refusals.length > 0 && refusals.length === leaves.length;
}

/** Marks a final refusal `retriable: false` (what `isRetriable` reads), and returns the error. */
export function classified<E>(error: E): E {
  if (error instanceof Error && refusedForGood(error)) Reflect.defineProperty(error, 'retriable', { value: false, enumerable: true });
  return error;
}

type LibraryError = Error & { code?: string; canRetry?: boolean };

function isProtocolError(error: LibraryError): boolean {
  return error.code === ProtocolError.code;
}

/** The errors a failure is made of: an aggregate's parts (recursively), else the error itself. */
function leavesOf(error: unknown): LibraryError[] {
  if (!(error instanceof Error)) return [];
  if (MultipleErrors.isMultipleErrors(error)) {
    const parts = (error as AggregateError).errors.flatMap(leavesOf);
    return parts.length > 0 ? parts : [error];
  }
  return [error];
}
