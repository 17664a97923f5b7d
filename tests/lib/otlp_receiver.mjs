// A small OTLP/HTTP receiver for the tests: POST /v1/traces and /v1/metrics, as protobuf
// (decoded with the official definitions generated in @opentelemetry/otlp-transformer) or as
// OTLP/JSON. Every request is kept with its headers and content type; spans and metrics are
// normalised into one plain shape whatever the encoding:
//   span: {traceId, spanId, parentSpanId (hex, '' for a root), traceState, name, kind (number),
//          start, end (BigInt nanoseconds), attributes: {key: value}, status: {code, message}}
//   metric: {name, unit, description, kind: 'sum'|'gauge'|'histogram', monotonic, temporality,
//            points: [{attributes, value | count, sum, bucketCounts, explicitBounds}]}
// Attribute values become JS values (intValue → Number, arrays → arrays).
// `respond` may be set to a function (path) => status to refuse requests.
// Connections are counted (receiver.connections) and each request notes the one it came on
// (request.connection, numbered from 1); receiver.closeEach = true answers with
// `Connection: close`; receiver.dropConnections() closes every open connection without a word.
// startOtlpReceiver({tls: {key, cert}}) serves HTTPS with that PEM key and certificate
// (receiver.url is then https://localhost:port; failed handshakes are kept in tlsErrors).
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = require(path.join(path.dirname(require.resolve('@opentelemetry/otlp-transformer')), 'generated/root.js'));
const { ExportTraceServiceRequest } = root.opentelemetry.proto.collector.trace.v1;
const { ExportMetricsServiceRequest } = root.opentelemetry.proto.collector.metrics.v1;

const toObjectOptions = { longs: String, enums: Number, bytes: Buffer, defaults: false, arrays: true };

const hex = (v) => {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v; // OTLP/JSON ids are hex already
  return Buffer.from(v).toString('hex');
};

function anyValue(v) {
  if (v === undefined || v === null) return undefined;
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('boolValue' in v) return v.boolValue;
  if ('arrayValue' in v) return (v.arrayValue.values ?? []).map(anyValue);
  return undefined;
}

function attributes(list) {
  const out = {};
  for (const kv of list ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

function normaliseSpans(request) {
  const spans = [];
  for (const rs of request.resourceSpans ?? []) {
    const resource = attributes(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push({
          resource,
          scope: ss.scope?.name,
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          traceState: s.traceState ?? '',
          name: s.name,
          kind: Number(s.kind),
          start: BigInt(s.startTimeUnixNano),
          end: BigInt(s.endTimeUnixNano),
          attributes: attributes(s.attributes),
          status: { code: Number(s.status?.code ?? 0), message: s.status?.message ?? '' },
        });
      }
    }
  }
  return spans;
}

function normaliseMetrics(request) {
  const metrics = [];
  for (const rm of request.resourceMetrics ?? []) {
    const resource = attributes(rm.resource?.attributes);
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        const kind = m.sum ? 'sum' : m.gauge ? 'gauge' : m.histogram ? 'histogram' : 'other';
        const data = m.sum ?? m.gauge ?? m.histogram ?? {};
        metrics.push({
          resource,
          name: m.name,
          unit: m.unit ?? '',
          description: m.description ?? '',
          kind,
          monotonic: Boolean(data.isMonotonic),
          temporality: Number(data.aggregationTemporality ?? 0),
          points: (data.dataPoints ?? []).map((p) => ({
            attributes: attributes(p.attributes),
            value: p.asInt !== undefined ? Number(p.asInt) : p.asDouble !== undefined ? Number(p.asDouble) : undefined,
            count: p.count !== undefined ? Number(p.count) : undefined,
            sum: p.sum !== undefined ? Number(p.sum) : undefined,
            bucketCounts: (p.bucketCounts ?? []).map(Number),
            explicitBounds: (p.explicitBounds ?? []).map(Number),
          })),
        });
      }
    }
  }
  return metrics;
}

export async function startOtlpReceiver({ tls, host = '127.0.0.1' } = {}) {
  const receiver = {
    requests: [], // {path, contentType, headers}
    spans: [],
    metrics: [],
    errors: [],
    tlsErrors: [],
    respond: null,
    connections: 0,
    closeEach: false,
  };
  const handler = (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const contentType = req.headers['content-type'] ?? '';
      receiver.requests.push({
        path: req.url,
        method: req.method,
        contentType,
        headers: req.headers,
        connection: req.socket.otlpConnection,
      });
      if (receiver.closeEach) res.setHeader('connection', 'close');
      const status = receiver.respond ? receiver.respond(req.url) : 200;
      if (status !== 200) {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end('{}');
        return;
      }
      try {
        const json = contentType.startsWith('application/json');
        if (req.url === '/v1/traces') {
          const decoded = json
            ? JSON.parse(body.toString('utf8'))
            : ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(body), toObjectOptions);
          receiver.spans.push(...normaliseSpans(decoded));
        } else if (req.url === '/v1/metrics') {
          const decoded = json
            ? JSON.parse(body.toString('utf8'))
            : ExportMetricsServiceRequest.toObject(ExportMetricsServiceRequest.decode(body), toObjectOptions);
          receiver.metrics.push(...normaliseMetrics(decoded));
        } else {
          res.writeHead(404);
          res.end();
          return;
        }
      } catch (e) {
        receiver.errors.push(String(e.stack ?? e));
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: String(e) }));
        return;
      }
      res.writeHead(200, { 'content-type': contentType.startsWith('application/json') ? 'application/json' : 'application/x-protobuf' });
      res.end(contentType.startsWith('application/json') ? '{}' : '');
    });
  };
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, handler) : http.createServer(handler);
  if (tls) server.on('tlsClientError', (e) => receiver.tlsErrors.push(String(e.message ?? e)));
  server.on(tls ? 'secureConnection' : 'connection', (socket) => {
    socket.otlpConnection = ++receiver.connections;
  });
  receiver.dropConnections = () => server.closeAllConnections();
  await new Promise((resolve) => server.listen(0, host, resolve));
  receiver.port = server.address().port;
  const authority = host.includes(':') ? `[${host}]` : host;
  receiver.url = tls ? `https://localhost:${receiver.port}` : `http://${authority}:${receiver.port}`;
  // Waits until `predicate(spans)` holds (spans arrive about once a second).
  receiver.waitFor = async (predicate, timeoutMs = 5000, what = 'spans') => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const list = what === 'metrics' ? receiver.metrics : receiver.spans;
      const hit = predicate(list);
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`OTLP receiver: condition not met; have ${JSON.stringify(list.map((s) => s.name))} errors ${receiver.errors.join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  receiver.close = () => new Promise((resolve) => server.close(resolve));
  return receiver;
}
