import type { AddressInfo } from 'node:net';

/** `http://host:port` of a listening server; a wildcard bind is reached through loopback. */
export function httpBaseUrl(address: AddressInfo, boundHost: string): string {
  const host = boundHost === '0.0.0.0' || boundHost === '::' ? '127.0.0.1' : boundHost;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}
