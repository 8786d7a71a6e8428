/**
 * Real loopback servers that make an S3 client's connection fail in each way a user meets: a TLS
 * certificate the client does not trust or that is for another host, a plain HTTP server where the
 * client speaks HTTPS, and HTTPS ports where the client speaks plain HTTP. Certificates come from
 * test/fixtures/tls (see its README). No S3 request ever gets through to one of them.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as path from "node:path";
import { TEST_TLS } from "./s3-server.ts";

const TLS_DIR = path.join(import.meta.dirname, "..", "fixtures", "tls");

export type FailingServerKind =
  /** HTTPS with a certificate signed by the test CA, sent without the CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE). */
  | "untrusted-leaf"
  /** HTTPS sending the certificate and the self-signed test CA (SELF_SIGNED_CERT_IN_CHAIN). */
  | "untrusted-chain"
  /** HTTPS with a self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT). */
  | "self-signed"
  /** HTTPS on 127.0.0.2 with the test CA's certificate, which names 127.0.0.1 but not 127.0.0.2. */
  | "wrong-host"
  /** Plain HTTP that answers anything with 200 "hello". */
  | "plain-http"
  /** HTTPS that closes a plain HTTP connection without answering, as Node's and Bun's TLS servers do. */
  | "https-resets-plain-http"
  /**
   * The plain-HTTP side of an HTTPS port that answers plain HTTP with 400, as Go's (MinIO's) and
   * nginx's do; it speaks no TLS itself.
   */
  | "https-answers-plain-http-with-400";

export interface FailingServer {
  /** `host:port`, without a scheme: the test picks the scheme the client uses. */
  hostPort: string;
  stop(): Promise<void>;
}

/** Go's net/http reply to a plain HTTP request on a TLS port, verbatim. */
const GO_PLAIN_HTTP_ON_TLS_PORT =
  "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";

export async function startFailingServer(kind: FailingServerKind): Promise<FailingServer> {
  const host = kind === "wrong-host" ? "127.0.0.2" : "127.0.0.1";
  const server = createServer(kind);
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve((server.address() as net.AddressInfo).port));
  });
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  return {
    hostPort: `${host}:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function createServer(kind: FailingServerKind): net.Server {
  const leaf = fs.readFileSync(TEST_TLS.certFile, "utf8");
  const key = fs.readFileSync(TEST_TLS.keyFile, "utf8");
  const hello = (_req: http.IncomingMessage, res: http.ServerResponse) => res.end("hello");
  switch (kind) {
    case "untrusted-leaf":
    case "wrong-host":
    case "https-resets-plain-http":
      return https.createServer({ cert: leaf, key }, hello);
    case "untrusted-chain":
      return https.createServer({ cert: leaf + fs.readFileSync(TEST_TLS.caFile, "utf8"), key }, hello);
    case "self-signed":
      return https.createServer(
        {
          cert: fs.readFileSync(path.join(TLS_DIR, "self-signed.pem"), "utf8"),
          key: fs.readFileSync(path.join(TLS_DIR, "self-signed-key.pem"), "utf8"),
        },
        hello,
      );
    case "plain-http":
      return http.createServer(hello);
    case "https-answers-plain-http-with-400":
      // Only the plain-HTTP side of such a port matters here: whatever the client sends first, it
      // gets Go's answer and the connection closes.
      return net.createServer((socket) => {
        socket.once("data", () => socket.end(GO_PLAIN_HTTP_ON_TLS_PORT));
        socket.on("error", () => {});
      });
  }
}
