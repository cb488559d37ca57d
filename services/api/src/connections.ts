import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import proxyAddr from 'proxy-addr';
import { errorBody } from './errors';

export interface ConnectionLimits {
  max: number;
  perAddress: number;
  /** A connection with nothing sent or read for this long is cut, mid-answer too. */
  idleTimeoutMs: number;
  trustProxy: boolean | number | string[];
}

/** Whether an address is a proxy Express trusts: its clients arrive through it, so it is not capped as one. */
export function trustedProxy(trustProxy: ConnectionLimits['trustProxy']): (address: string) => boolean {
  if (typeof trustProxy === 'boolean') return () => trustProxy;
  if (typeof trustProxy === 'number') return () => trustProxy > 0;
  const trust = proxyAddr.compile(trustProxy);
  return (address) => trust(address, 0);
}

export function limitConnections(server: Server, limits: ConnectionLimits): void {
  server.maxConnections = limits.max;
  // With no 'timeout' listener Node destroys the idle socket.
  server.setTimeout(limits.idleTimeoutMs);
  const exempt = trustedProxy(limits.trustProxy);
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined || exempt(address)) return;
    const count = open.get(address) ?? 0;
    if (count >= limits.perAddress) {
      socket.destroy();
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}

// Node's own answers to what never became a request, by the error's code; anything else is 400.
const clientErrors: Record<string, { status: number; message: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, message: 'the request headers are too large' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, message: 'the chunk extensions are too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, message: 'the request did not arrive in time' },
};
const badRequest = { status: 400, message: 'the request is not valid HTTP' };

export function clientErrorResponse(code: string | undefined): string {
  const { status, message } = clientErrors[code ?? ''] ?? badRequest;
  const body = errorBody(status, message);
  const json = JSON.stringify(body);
  return (
    `HTTP/1.1 ${status} ${body.error}\r\n` +
    'Connection: close\r\n' +
    'Content-Type: application/json; charset=utf-8\r\n' +
    'X-Content-Type-Options: nosniff\r\n' +
    `Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`
  );
}

/** Answers as Node does (same statuses, same moments), with a JSON body and nosniff. */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const response = socket as Socket & { _httpMessage?: { headersSent?: boolean } };
    // Never into an answer already begun, nor to a peer that is gone.
    if (socket.writable && !response._httpMessage?.headersSent && error.code !== 'ECONNRESET') {
      socket.write(clientErrorResponse(error.code));
    }
    socket.destroy(error);
  });
}
