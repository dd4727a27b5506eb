import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Response {
  status: number;
  contentType: string;
  body: string;
}

/** What the server serves; each handler may be async. */
export interface Endpoints {
  metrics(): Promise<Response> | Response;
  healthz(): Promise<Response> | Response;
  readyz(): Promise<Response> | Response;
}

export interface ObservabilityServer {
  /** `http://host:port`, with the port actually bound (useful with port 0). */
  readonly url: string;
  readonly port: number;
  /** Stops listening and closes open (keep-alive) connections, so shutdown never waits on a scraper. */
  close(): Promise<void>;
}

const ROUTES: Record<string, keyof Endpoints> = { '/metrics': 'metrics', '/healthz': 'healthz', '/readyz': 'readyz' };

/** A plain node:http server: three GET routes do not need a framework. */
export async function startObservabilityServer(
  endpoints: Endpoints,
  options: { port: number; host: string; onError?: (err: Error) => void },
): Promise<ObservabilityServer> {
  const server = createServer((req, res) => {
    void handle(endpoints, req, res).catch((err: unknown) => {
      options.onError?.(err instanceof Error ? err : new Error(String(err)));
      if (!res.headersSent) send(res, { status: 500, contentType: 'text/plain', body: 'internal error\n' });
      else res.destroy();
    });
  });
  // Scrapes are small and frequent; a stuck client must not hold a socket for Node's default 5 minutes.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(endpoints: Endpoints, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const route = ROUTES[path];
  if (!route) return send(res, { status: 404, contentType: 'text/plain', body: 'not found: try /metrics, /healthz, /readyz\n' });
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, { status: 405, contentType: 'text/plain', body: 'method not allowed\n' });
  }
  const response = await endpoints[route]();
  send(res, response, req.method === 'HEAD');
}

function send(res: ServerResponse, response: Response, headOnly = false): void {
  res.statusCode = response.status;
  res.setHeader('Content-Type', response.contentType);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(response.body));
  res.end(headOnly ? undefined : response.body);
}
