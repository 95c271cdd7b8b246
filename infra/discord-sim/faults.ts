import type { GatewayConnection } from '../../core/discord/gateway/connection.ts';
import type { Fault } from './index.ts';
import type { SimSession } from './shard-sessions.ts';

export const FAULTS: readonly Fault[] = ['drop-connection', 'ignore-heartbeats', 'invalid-session', 'reconnect', 'malformed-frame'];

export interface FaultTarget {
  session: SimSession;
  /** The session's open connection, if any. */
  connection: GatewayConnection<SimSession> | undefined;
  /** Ends the session (no more traffic, no RESUME) and tells its connection with op 9. */
  invalidate(): void;
  /** Dispatches a structurally invalid MESSAGE_CREATE on the session. */
  dispatchMalformed(): void;
}

/**
 * Misbehaviours of the real gateway a client must survive. Faults that act on a connection do
 * nothing while the session has none (it is already disconnected).
 */
export function applyFault(fault: Fault, target: FaultTarget): void {
  const { connection } = target;
  switch (fault) {
    case 'drop-connection':
      connection?.terminate();
      return;
    case 'ignore-heartbeats':
      connection?.ignoreHeartbeats();
      return;
    case 'reconnect':
      connection?.reconnect();
      return;
    case 'invalid-session':
      target.invalidate();
      return;
    case 'malformed-frame':
      target.dispatchMalformed();
      return;
    default:
      throw new RangeError(`unknown fault ${JSON.stringify(fault)}; expected one of ${FAULTS.join(', ')}`);
  }
}
