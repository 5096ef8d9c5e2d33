import { Socket } from "node:net";

/**
 * Counts client→server round trips on connections to `port`, whatever the client
 * library: a round trip starts with the first write after the client last received
 * something (or the first write ever) on that socket. For calls made one after another,
 * that is exactly the number of times the caller waits for Redis. Counting writes would
 * not do: node-redis writes a command in several chunks, and a MULTI block is one round
 * trip of many commands.
 *
 * It wraps `Socket.prototype.write` and `push` (where received bytes enter the stream)
 * for the duration of `run` only, so nothing else is slowed down.
 */
export async function countRoundTrips(port: number, run: () => Promise<void>): Promise<number> {
  type Method = (this: Socket, ...args: unknown[]) => unknown;
  const proto = Socket.prototype as unknown as { write: Method; push: Method };
  const { write, push } = proto;
  // write comes from Writable.prototype; put back exactly what was there.
  const own = { write: Object.hasOwn(proto, "write"), push: Object.hasOwn(proto, "push") };
  const waiting = new WeakSet<Socket>();
  let trips = 0;
  proto.write = function (this: Socket, ...args: unknown[]) {
    if (this.remotePort === port && !waiting.has(this)) {
      waiting.add(this);
      trips++;
    }
    return write.apply(this, args);
  };
  proto.push = function (this: Socket, ...args: unknown[]) {
    if (args[0] !== null && this.remotePort === port) waiting.delete(this);
    return push.apply(this, args);
  };
  try {
    await run();
  } finally {
    if (own.write) proto.write = write;
    else delete (proto as { write?: Method }).write;
    if (own.push) proto.push = push;
    else delete (proto as { push?: Method }).push;
  }
  return trips;
}
