/** An HTTP server on a host and port: Bun.serve under Bun, Deno.serve under Deno. */
import { deno } from "./deno-api.ts";
import { IS_BUN } from "./host.ts";

export interface HttpServer {
  /** The port it listens on (the one chosen when 0 was asked for). */
  port: number;
  /** Stops listening and closes open connections. */
  stop(): void;
}

export function serveHttp(hostname: string, port: number, handle: (req: Request) => Response): HttpServer {
  if (IS_BUN) {
    const server = Bun.serve({ hostname, port, fetch: handle });
    return { port: server.port ?? port, stop: () => server.stop(true) };
  }
  if (!deno) throw new Error("no HTTP server in this runtime (walship runs on Bun or Deno)");
  const server = deno.serve({ hostname, port, onListen: () => {} }, handle);
  return {
    port: server.addr.port,
    stop: () => {
      void server.shutdown();
    },
  };
}
