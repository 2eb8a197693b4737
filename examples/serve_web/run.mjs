// The part of the example that runs wherever onnxruntime-web runs: in a browser page
// (index.html) and in Node.js (serve.mjs --runtime node). No Node or DOM APIs here: the
// caller passes the `ort` module and a `load(path)` that returns a file's bytes.
//
// A case (cases.json, written by examples/serve_node/make_model.py) names a model file and its
// inputs: {NAME: {"dtype", "shape", "file"}} with raw little-endian files, or "data" inline.

const ARRAYS = {
  float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array,
  int8: Int8Array, uint8: Uint8Array, bool: Uint8Array,
};

export function toTensor(ort, name, spec, bytes) {
  const Arr = ARRAYS[spec.dtype];
  if (!Arr) throw new Error(`input ${name}: unsupported dtype ${spec.dtype}`);
  const shape = spec.shape.map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  let data;
  if (bytes !== undefined) {
    const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    if (u8.byteLength !== count * Arr.BYTES_PER_ELEMENT) {
      throw new Error(`input ${name}: ${spec.file} has ${u8.byteLength} bytes, shape ` +
                      `[${shape}] of ${spec.dtype} needs ${count * Arr.BYTES_PER_ELEMENT}`);
    }
    // a copy at offset 0: typed arrays need their element alignment
    data = new Arr(u8.slice().buffer);
  } else {
    if (!Array.isArray(spec.data) || spec.data.length !== count) {
      throw new Error(`input ${name}: "data" must be a flat array of ${count} values`);
    }
    data = Arr === BigInt64Array ? BigInt64Array.from(spec.data, (v) => BigInt(v))
                                 : Arr.from(spec.data, Number);
  }
  return new ort.Tensor(spec.dtype, data, shape);
}

export function fromTensor(name, t) {
  const data = Array.from(t.data, (v) => {
    if (typeof v === "bigint") {
      return v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v.toString();
    }
    if (typeof v === "boolean") return v ? 1 : 0;
    return Number.isFinite(v) ? v : String(v);
  });
  return { name, dtype: t.type, dims: Array.from(t.dims), data };
}

// Runs every case; sessions are created once per model file (one session serves every batch
// size of a dynamic-batch model). Returns [{name, outputs, ms}] in the cases' order.
export async function runCases(ort, cases, load, options = {}) {
  const sessions = new Map();
  const results = [];
  for (const c of cases) {
    if (!sessions.has(c.model)) {
      sessions.set(c.model, await ort.InferenceSession.create(await load(c.model),
                                                              { executionProviders: ["wasm"],
                                                                ...options }));
    }
    const sess = sessions.get(c.model);
    const feeds = {};
    for (const [name, spec] of Object.entries(c.inputs)) {
      feeds[name] = toTensor(ort, name, spec,
                             spec.file !== undefined ? await load(spec.file) : undefined);
    }
    const t0 = performance.now();
    const out = await sess.run(feeds);
    const ms = performance.now() - t0;
    results.push({ name: c.name, outputs: sess.outputNames.map((n) => fromTensor(n, out[n])),
                   ms });
  }
  for (const sess of sessions.values()) await sess.release();
  return results;
}
