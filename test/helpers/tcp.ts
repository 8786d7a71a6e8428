/** Loopback TCP endpoints for tests of unreachable storage: a port nothing listens on, a server that never answers. */
import * as net from "node:net";

/** A loopback port that was free a moment ago: connections to it are refused until someone listens. */
export async function unusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface SilentServer {
  /** "http://127.0.0.1:PORT" */
  readonly endpoint: string;
  /** Closes the listener and every connection it held (the client then sees resets and refusals). */
  stop(): Promise<void>;
}

/** Accepts connections and never answers: a request waits for its timeout. */
export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
