// The older Codex code-mode design, for the `node_worker` row of `python -m benchmarks.exec_overhead`:
// a long-lived Node process reads one JSON request per stdin line ({"id", "code"}), runs the code in a brand-new
// worker_threads Worker, and writes one JSON line ({"id", "ok", "items" | "error"}) when the worker is done.
"use strict";
const { Worker } = require("node:worker_threads");
const readline = require("node:readline");

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const items = [];
globalThis.text = (value) => { items.push({ type: "input_text", text: String(value) }); };
(async () => {
  const run = new Function("return (async () => {\\n" + workerData.code + "\\n})();");
  await run();
})().then(
  () => parentPort.postMessage(JSON.stringify({ ok: true, items })),
  (err) => parentPort.postMessage(JSON.stringify({ ok: false, error: String(err && err.stack || err) })),
);
`;

function runOne(request) {
  return new Promise((resolve) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { code: request.code } });
    let answered = false;
    worker.once("message", (message) => {
      answered = true;
      resolve(Object.assign({ id: request.id }, JSON.parse(message)));
      worker.terminate();
    });
    worker.once("error", (err) => {
      if (!answered) resolve({ id: request.id, ok: false, error: String(err) });
    });
  });
}

const lines = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on("line", (line) => {
  if (!line.trim()) return;
  const request = JSON.parse(line);
  queue = queue.then(() => runOne(request)).then((reply) => {
    process.stdout.write(JSON.stringify(reply) + "\n");
  });
});
process.stdout.write(JSON.stringify({ ready: true, pid: process.pid }) + "\n");
