import net from 'node:net';
import tls from 'node:tls';
import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import type { Logger } from '../../logger.ts';
import type { KafkaClient } from '../types.ts';
import { KafkajsAdmin } from './admin.ts';
import { KafkajsGroupConsumer } from './consumer.ts';
import { KafkajsProducer } from './producer.ts';

// Every producer of ours that routes by key names its partitioner; the v2 migration notice is noise.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

/** Opens one TCP connection to a broker (kafkajs's `socketFactory`). */
type SocketFactory = (target: { host: string; port: number; ssl?: unknown; onConnect: () => void }) => net.Socket;

export interface KafkajsOptions {
  /** A readiness probe: one quick attempt (2 s to connect, no retries), nothing logged. */
  probe?: boolean;
  /** Tests only: every broker connection as it is made (createKafka's `onSocket`). */
  onSocket?: (socket: net.Socket) => void;
}

export interface KafkajsConnection {
  brokers: string[];
  clientId: string;
  logger: Logger;
}

/**
 * kafkajs's own socket factory, plus TCP_NODELAY. Node does not set it on client sockets, and
 * kafkajs writes each request as it comes, several in flight on one connection: with Nagle's
 * algorithm on, a small request behind an unacknowledged one waits for the broker's (possibly
 * delayed) ACK, tens of milliseconds on a path whose every hop is otherwise a few.
 */
const defaultSocketFactory: SocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), ...(ssl as tls.ConnectionOptions) }, onConnect)
    : net.connect({ host, port }, onConnect);
  socket.setKeepAlive(true, 60_000);
  return socket;
};

/** The kafkajs client object itself, for the benches' raw baselines (which measure kafkajs without our seam). */
export function rawKafkajs({ brokers, clientId, logger }: KafkajsConnection, options: { probe?: boolean; socketFactory?: SocketFactory } = {}): Kafka {
  const log = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        if (level <= logLevel.ERROR) log.error(rest, message);
        else if (level === logLevel.WARN) log.warn(rest, message);
        else log.debug(rest, message);
      },
    connectionTimeout: 3000,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5000 },
    ...(options.probe ? { logLevel: logLevel.NOTHING, connectionTimeout: 2000, retry: { retries: 0 } } : {}),
    ...(options.socketFactory ? { socketFactory: options.socketFactory as never } : {}),
  });
}

/** The seam implemented on kafkajs. */
export function kafkajsClient(connection: KafkajsConnection, options: KafkajsOptions = {}): KafkaClient {
  const { onSocket, ...rest } = options;
  const socketFactory: SocketFactory = (target) => {
    const socket = defaultSocketFactory(target);
    onSocket?.(socket);
    return socket.setNoDelay(true);
  };
  const kafka = rawKafkajs(connection, { ...rest, socketFactory });
  return {
    producer: (producerOptions) => new KafkajsProducer(kafka, producerOptions),
    consumer: (consumerOptions) => new KafkajsGroupConsumer(kafka, consumerOptions),
    admin: () => new KafkajsAdmin(kafka),
  };
}
