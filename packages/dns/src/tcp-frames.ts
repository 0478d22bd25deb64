import type { Socket } from 'node:net';

/** The largest DNS message: TCP frames carry a 16-bit length. */
const MAX_MESSAGE = 65535;

/** A message with DNS-over-TCP's two-byte length in front (RFC 1035 §4.2.2). */
export function frame(message: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(Math.min(message.length, MAX_MESSAGE));
  return Buffer.concat([length, message]);
}

/** Calls `onMessage` with each length-prefixed message the socket receives (several per connection). */
export function readFrames(socket: Socket, onMessage: (message: Buffer) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 2) {
      const length = pending.readUInt16BE(0);
      if (pending.length < 2 + length) break;
      const message = pending.subarray(2, 2 + length);
      pending = pending.subarray(2 + length);
      onMessage(message);
    }
  });
}
