#!/usr/bin/env node
// Run kiln-exported ONNX models with onnxruntime-web (WebAssembly) and write the outputs.
//
//   node serve.mjs --cases DIR/cases.json [--runtime browser|node]
//
// --runtime browser (the default): serves index.html, run.mjs, onnxruntime-web's dist/ and DIR
//   from a local HTTP server on 127.0.0.1 and drives the page in headless Chromium
//   (puppeteer-core; the browser is the chrome-headless-shell build that the
//   @sparticuz/chromium npm package carries, unpacked once into node_modules/.cache; set
//   CHROME_PATH to use an installed Chrome or Chromium instead).
// --runtime node: the same run.mjs in Node.js itself, with onnxruntime-web's Node build (the
//   same WebAssembly backend, no browser).
// DIR/NAME.out.json gets each case's outputs: {"outputs": [{"name", "dtype", "dims", "data"}],
// "ms", "runtime"}, as examples/serve_node/serve.js writes them.
// `node serve.mjs --serve PORT DIR` only serves the page: open
// http://127.0.0.1:PORT/index.html?cases=data/cases.json in a browser.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runCases } from "./run.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ORT_DIST = path.join(HERE, "node_modules", "onnxruntime-web", "dist");
const TYPES = {
  ".html": "text/html", ".mjs": "text/javascript", ".js": "text/javascript",
  ".wasm": "application/wasm", ".json": "application/json",
};

// "/" -> index.html and run.mjs, "/ort/" -> onnxruntime-web's dist/, "/data/" -> DIR
function startServer(dataDir, port = 0) {
  const roots = { "ort": ORT_DIST, "data": path.resolve(dataDir) };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://localhost");
    const parts = decodeURIComponent(url.pathname).split("/").filter(Boolean);
    let file = null;
    if (parts.length === 1 && ["index.html", "run.mjs"].includes(parts[0])) {
      file = path.join(HERE, parts[0]);
    } else if (parts.length >= 2 && roots[parts[0]] && !parts.includes("..")) {
      file = path.join(roots[parts[0]], ...parts.slice(1));
    }
    if (!file || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, {
      "content-type": TYPES[path.extname(file)] || "application/octet-stream",
      // cross-origin isolation: SharedArrayBuffer, so ort.env.wasm.numThreads > 1 can work
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-embedder-policy": "require-corp",
    });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

async function browserPath() {
  if (process.env.CHROME_PATH) return process.env.CHROME_PATH;
  const { default: chromium } = await import("@sparticuz/chromium");
  const version = JSON.parse(fs.readFileSync(
    path.join(HERE, "node_modules", "@sparticuz", "chromium", "package.json"), "utf8")).version;
  // the package unpacks into os.tmpdir(); point that at a private, versioned folder
  const cache = path.join(HERE, "node_modules", ".cache", `chromium-${version}`);
  fs.mkdirSync(cache, { recursive: true });
  const tmp = process.env.TMPDIR;
  process.env.TMPDIR = cache;
  try {
    chromium.setGraphicsMode = false;   // WebAssembly only: no WebGL, no swiftshader to unpack
    return { exe: await chromium.executablePath(), args: chromium.args };
  } finally {
    if (tmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmp;
  }
}

async function runInBrowser(casesFile) {
  const { default: puppeteer } = await import("puppeteer-core");
  const found = await browserPath();
  const exe = typeof found === "string" ? found : found.exe;
  const args = typeof found === "string" ? ["--no-sandbox", "--headless=new"] : found.args;
  const server = await startServer(path.dirname(path.resolve(casesFile)));
  const browser = await puppeteer.launch({ executablePath: exe, args, headless: "shell" });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    const base = `http://127.0.0.1:${server.address().port}`;
    await page.goto(`${base}/index.html`, { waitUntil: "load" });
    await page.waitForFunction("window.kilnReady === true", { timeout: 30000 })
      .catch((e) => { throw new Error(`page did not load: ${errors.join("; ") || e.message}`); });
    const reply = await page.evaluate((u) => window.kilnRun(u),
                                      `${base}/data/${path.basename(casesFile)}`);
    return { runtime: `browser: ${reply.userAgent}; onnxruntime-web ${reply.ortVersion}`,
             results: reply.results };
  } finally {
    await browser.close();
    server.close();
  }
}

async function runInNode(casesFile) {
  const ort = await import("onnxruntime-web");   // resolves to its Node.js build
  ort.env.wasm.numThreads = 1;
  const dir = path.dirname(path.resolve(casesFile));
  const manifest = JSON.parse(fs.readFileSync(casesFile, "utf8"));
  const load = async (p) => new Uint8Array(fs.readFileSync(path.resolve(dir, p)));
  return { runtime: `node ${process.version}: onnxruntime-web ${ort.env.versions.web} (wasm)`,
           results: await runCases(ort, manifest.cases, load) };
}

async function main(argv) {
  if (argv[0] === "--serve" && argv.length === 3) {
    const server = await startServer(argv[2], Number(argv[1]));
    console.log(`http://127.0.0.1:${server.address().port}/index.html?cases=data/cases.json`);
    return;
  }
  const runtime = argv[2] === "--runtime" && argv.length === 4 ? argv[3]
    : argv.length === 2 ? "browser" : null;
  if (argv[0] !== "--cases" || !["browser", "node"].includes(runtime)) {
    console.error("usage: node serve.mjs --cases DIR/cases.json [--runtime browser|node]\n" +
                  "       node serve.mjs --serve PORT DIR");
    process.exit(2);
  }
  const casesFile = argv[1];
  const { runtime: where, results } = runtime === "browser" ? await runInBrowser(casesFile)
                                                            : await runInNode(casesFile);
  console.log(`# ${where}`);
  const dir = path.dirname(path.resolve(casesFile));
  for (const r of results) {
    fs.writeFileSync(path.join(dir, `${r.name}.out.json`),
                     JSON.stringify({ outputs: r.outputs, ms: r.ms, runtime: where }));
    console.log(`${r.name}: ${r.outputs.map((o) => `[${o.dims}]`).join(" ")} ` +
                `${r.ms.toFixed(2)} ms`);
  }
}

main(process.argv.slice(2)).catch((e) => {
  console.error(`serve.mjs: ${e.message}`);
  process.exit(1);
});
