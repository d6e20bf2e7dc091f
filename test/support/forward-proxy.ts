import http from 'node:http';

/** Forwards a proxied request upstream and pipes the answer back (502 when upstream fails): a test forward proxy's core. */
export function forwardRequest(req: http.IncomingMessage, res: http.ServerResponse, upstream: { host: string; port: string; path: string; headers: http.OutgoingHttpHeaders }): void {
  const out = http.request({ ...upstream, method: req.method }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
  });
  out.on('error', () => {
    res.writeHead(502);
    res.end();
  });
  req.pipe(out);
}
