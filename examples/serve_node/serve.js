#!/usr/bin/env node
// Serve a kiln-exported ONNX model from Node.js with onnxruntime-node (no Python at run time).
//
//   node serve.js MODEL.onnx REQUEST.json [OUT.json]   one request; OUT.json default: stdout
//   node serve.js --cases DIR/cases.json               every case make_model.py wrote
//   node serve.js --http PORT MODEL.onnx               POST a request as JSON, get the outputs
//
// A request is {"inputs": {NAME: TENSOR, ...}}. A TENSOR is {"dtype", "shape", "data"} with
// the values inline (a flat array in C order; int64 values may be strings) or {"dtype",
// "shape", "file"} with a raw little-endian file (what numpy's tofile writes), relative to the
// request file. dtypes: float32, float64, int64, int32, int8, uint8, bool.
// The reply is {"outputs": [{"name", "dtype", "dims", "data"}, ...], "ms"}, one entry per model
// output in the model's order; non-finite floats are written as the strings "NaN",
// "Infinity", "-Infinity", int64 values outside +-2^53 as strings.
// SERVE_THREADS=N sets onnxruntime's intra-op thread count (default: its own choice).
"use strict";
const fs = require("fs");
const http = require("http");
const path = require("path");
const ort = require("onnxruntime-node");

const ARRAYS = {
  float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array,
  int8: Int8Array, uint8: Uint8Array, bool: Uint8Array,
};

function toTensor(name, spec, baseDir) {
  const Arr = ARRAYS[spec.dtype];
  if (!Arr) throw new Error(`input ${name}: unsupported dtype ${spec.dtype}`);
  const shape = spec.shape.map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  let data;
  if (spec.file !== undefined) {
    const buf = fs.readFileSync(path.resolve(baseDir, spec.file));
    if (buf.byteLength !== count * Arr.BYTES_PER_ELEMENT) {
      throw new Error(`input ${name}: ${spec.file} has ${buf.byteLength} bytes, shape ` +
                      `[${shape}] of ${spec.dtype} needs ${count * Arr.BYTES_PER_ELEMENT}`);
    }
    // a copy at offset 0: typed arrays need their element alignment
    data = new Arr(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  } else {
    if (!Array.isArray(spec.data) || spec.data.length !== count) {
      throw new Error(`input ${name}: "data" must be a flat array of ${count} values`);
    }
    data = Arr === BigInt64Array ? BigInt64Array.from(spec.data, (v) => BigInt(v))
                                 : Arr.from(spec.data, Number);
  }
  return new ort.Tensor(spec.dtype, data, shape);
}

function fromTensor(name, t) {
  const data = Array.from(t.data, (v) => {
    if (typeof v === "bigint") {
      return v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v.toString();
    }
    if (typeof v === "boolean") return v ? 1 : 0;
    return Number.isFinite(v) ? v : String(v);
  });
  return { name, dtype: t.type, dims: Array.from(t.dims), data };
}

const sessions = new Map();
function session(model) {
  if (!sessions.has(model)) {
    const opts = {};
    if (process.env.SERVE_THREADS) opts.intraOpNumThreads = Number(process.env.SERVE_THREADS);
    sessions.set(model, ort.InferenceSession.create(model, opts));
  }
  return sessions.get(model);
}

async function run(model, request, baseDir) {
  const sess = await session(model);
  const feeds = {};
  for (const [name, spec] of Object.entries(request.inputs || {})) {
    feeds[name] = toTensor(name, spec, baseDir);
  }
  const t0 = process.hrtime.bigint();
  const out = await sess.run(feeds);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { outputs: sess.outputNames.map((n) => fromTensor(n, out[n])), ms };
}

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

async function runCases(casesFile) {
  const dir = path.dirname(path.resolve(casesFile));
  for (const c of readJson(casesFile).cases) {
    const reply = await run(path.join(dir, c.model), c, dir);
    fs.writeFileSync(path.join(dir, `${c.name}.out.json`), JSON.stringify(reply));
    const ins = Object.entries(c.inputs).map(([n, s]) => `${n}[${s.shape}]`).join(" ");
    const outs = reply.outputs.map((o) => `[${o.dims}]`).join(" ");
    console.log(`${c.name}: ${c.model} ${ins} -> ${outs} ${reply.ms.toFixed(2)} ms`);
  }
}

function serveHttp(port, model) {
  const server = http.createServer((req, res) => {
    const reply = (status, body) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method !== "POST") return reply(405, { error: "POST a JSON request" });
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      let request;
      try {
        request = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        for (const spec of Object.values(request.inputs || {})) {
          if (spec.file !== undefined) throw new Error("inputs must be inline over HTTP");
        }
      } catch (e) {
        return reply(400, { error: e.message });
      }
      run(model, request, ".").then((r) => reply(200, r), (e) => reply(400, { error: e.message }));
    });
  });
  // the model is loaded before the first request; the chosen port goes to stdout
  session(model).then(() => server.listen(port, "127.0.0.1", () => {
    console.log(`listening on http://127.0.0.1:${server.address().port}/ (${model})`);
  }), (e) => { console.error(e.message); process.exit(1); });
}

async function main(argv) {
  if (argv[0] === "--cases" && argv.length === 2) return runCases(argv[1]);
  if (argv[0] === "--http" && argv.length === 3) return serveHttp(Number(argv[1]), argv[2]);
  if (argv.length < 2 || argv.length > 3 || argv[0].startsWith("-")) {
    console.error("usage: node serve.js MODEL.onnx REQUEST.json [OUT.json]\n" +
                  "       node serve.js --cases DIR/cases.json\n" +
                  "       node serve.js --http PORT MODEL.onnx");
    process.exit(2);
  }
  const [model, requestFile, outFile] = argv;
  const reply = await run(model, readJson(requestFile), path.dirname(path.resolve(requestFile)));
  const text = JSON.stringify(reply);
  if (outFile) fs.writeFileSync(outFile, text);
  else console.log(text);
}

main(process.argv.slice(2)).catch((e) => {
  console.error(`serve.js: ${e.message}`);
  process.exit(1);
});
