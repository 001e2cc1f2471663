// An OTLP/HTTP receiver for the tests. It decodes http/protobuf trace and logs exports with the
// protobuf definitions OpenTelemetry JS generates from opentelemetry-proto
// (@opentelemetry/otlp-transformer's build/src/generated/root.js), so what the tests read was
// decoded by code that is not Nefele's. Each span becomes one JSON line in SPANS.jsonl, each log
// record one in LOGS.jsonl (when given; else logs are accepted and dropped). Metrics are accepted and dropped.
//
//   node receiver.js SPANS.jsonl [LOGS.jsonl]   prints "listening PORT" once it accepts exports on 127.0.0.1:PORT
"use strict";
const fs = require("fs");
const http = require("http");
const zlib = require("zlib");
const root = require("@opentelemetry/otlp-transformer/build/src/generated/root");

const ExportTraceServiceRequest = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const ExportTraceServiceResponse = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
const ExportLogsServiceRequest = root.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
const ExportLogsServiceResponse = root.opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse;

const out = process.argv[2];
const logsOut = process.argv[3];
if (!out) {
  console.error("usage: node receiver.js SPANS.jsonl [LOGS.jsonl]");
  process.exit(2);
}

const hex = (bytes) => Buffer.from(bytes || []).toString("hex");

function value(v) {
  if (!v) return null;
  if (v.stringValue !== undefined && v.stringValue !== null) return v.stringValue;
  if (v.boolValue !== undefined && v.boolValue !== null) return v.boolValue;
  if (v.intValue !== undefined && v.intValue !== null) return Number(v.intValue);
  if (v.doubleValue !== undefined && v.doubleValue !== null) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values || []).map(value);
  return null;
}

function attributes(list) {
  const result = {};
  for (const kv of list || []) result[kv.key] = value(kv.value);
  return result;
}

function spans(request) {
  const lines = [];
  for (const rs of request.resourceSpans || []) {
    const resource = attributes(rs.resource && rs.resource.attributes);
    for (const ss of rs.scopeSpans || []) {
      for (const s of ss.spans || []) {
        lines.push(JSON.stringify({
          service: resource["service.name"] || null,
          scope: (ss.scope && ss.scope.name) || null,
          name: s.name,
          kind: s.kind,
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          startUnixNano: String(s.startTimeUnixNano),
          endUnixNano: String(s.endTimeUnixNano),
          status: (s.status && s.status.code) || 0,
          statusMessage: (s.status && s.status.message) || "",
          attributes: attributes(s.attributes),
          links: (s.links || []).map((l) => ({ traceId: hex(l.traceId), spanId: hex(l.spanId) })),
        }));
      }
    }
  }
  return lines;
}

function logRecords(request) {
  const lines = [];
  for (const rl of request.resourceLogs || []) {
    const resource = attributes(rl.resource && rl.resource.attributes);
    for (const sl of rl.scopeLogs || []) {
      for (const r of sl.logRecords || []) {
        lines.push(JSON.stringify({
          service: resource["service.name"] || null,
          scope: (sl.scope && sl.scope.name) || null,
          timeUnixNano: String(r.timeUnixNano),
          severityNumber: r.severityNumber || 0,
          severityText: r.severityText || "",
          body: value(r.body),
          attributes: attributes(r.attributes),
          traceId: hex(r.traceId),
          spanId: hex(r.spanId),
        }));
      }
    }
  }
  return lines;
}

// Decodes an http/protobuf export of one signal, writes its lines to a file, answers the signal's response.
function receive(req, res, body, Request, Response, toLines, file) {
  if (!String(req.headers["content-type"] || "").startsWith("application/x-protobuf")) {
    res.writeHead(415, { "content-type": "text/plain" });
    res.end("only http/protobuf is decoded here");
    return;
  }
  const lines = toLines(Request.decode(body));
  if (file && lines.length > 0) fs.appendFileSync(file, lines.join("\n") + "\n");
  res.writeHead(200, { "content-type": "application/x-protobuf" });
  res.end(Buffer.from(Response.encode({}).finish()));
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    let body = Buffer.concat(chunks);
    try {
      if (req.headers["content-encoding"] === "gzip") body = zlib.gunzipSync(body);
      if (req.method === "POST" && req.url === "/v1/traces") {
        receive(req, res, body, ExportTraceServiceRequest, ExportTraceServiceResponse, spans, out);
        return;
      }
      if (req.method === "POST" && req.url === "/v1/logs") {
        receive(req, res, body, ExportLogsServiceRequest, ExportLogsServiceResponse, logRecords, logsOut);
        return;
      }
      if (req.method === "POST" && req.url === "/v1/metrics") {
        res.writeHead(200, { "content-type": "application/x-protobuf" });
        res.end();
        return;
      }
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not an OTLP path");
    } catch (e) {
      res.writeHead(400, { "content-type": "text/plain" });
      res.end("undecodable export: " + e.message);
    }
  });
});

server.listen(0, "127.0.0.1", () => {
  fs.writeFileSync(out, "");
  if (logsOut) fs.writeFileSync(logsOut, "");
  console.log("listening " + server.address().port);
});

for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
