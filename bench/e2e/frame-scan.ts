/**
 * Reads what the bench needs from a gateway frame without JSON.parse: the edge writes dispatches
 * as `{"t":"TYPE","s":N,"op":0,"d":{...}}` (gateway-proxy/serialize.ts) and the load generator puts
 * the bench's nonce last in `d`. Frames of any other layout (op 10, 11, 7, 9, READY, ...) come back
 * as `undefined` and are parsed in full: they are rare.
 */
const HEAD = Buffer.from('{"t":"');
const SEQ = Buffer.from('","s":');
const NONCE = Buffer.from('"nonce":"');
const QUOTE = 0x22;

export interface ScannedDispatch {
  t: string;
  s: number;
  /** The bench nonce, when the frame carries a `"nonce"` string. */
  nonce: string | undefined;
}

export function scanDispatch(frame: Buffer): ScannedDispatch | undefined {
  if (frame.length < 16 || frame.compare(HEAD, 0, HEAD.length, 0, HEAD.length) !== 0) return undefined;
  const tEnd = frame.indexOf(SEQ, HEAD.length);
  if (tEnd < 0 || tEnd > 70) return undefined;
  let i = tEnd + SEQ.length;
  let s = 0;
  let digits = 0;
  for (; i < frame.length; i++, digits++) {
    const c = frame[i]!;
    if (c < 0x30 || c > 0x39) break;
    s = s * 10 + (c - 0x30);
  }
  if (digits === 0 || frame[i] !== 0x2c) return undefined;
  const t = frame.toString('latin1', HEAD.length, tEnd);
  if (t === 'READY' || t === 'RESUMED') return undefined;
  let nonce: string | undefined;
  const at = frame.lastIndexOf(NONCE);
  if (at > i) {
    const start = at + NONCE.length;
    const end = frame.indexOf(QUOTE, start);
    if (end > start && end - start <= 32) nonce = frame.toString('latin1', start, end);
  }
  return { t, s, nonce };
}
