// A model-written cell of the usual shape (functions, arrow callbacks with `return`, a loop, output), without
// nested tools: the `warm_exec_script` row of benchmarks.exec_overhead. About 1.6 KiB.
const files = [
  "codex_actors/session/turn.py", "codex_actors/session/session.py", "codex_actors/tools/router.py",
  "codex_actors/codemode/cell.py", "codex_actors/codemode/runtime.py", "codex_actors/exec/sandbox.py",
  "tests/codemode/test_cell_core.py", "tests/session/test_turn_loop.py", "README.md", "pyproject.toml",
];
const counts = {};
for (const file of files) {
  const dir = file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : ".";
  counts[dir] = (counts[dir] || 0) + 1;
}
function topDirs(map, n) {
  return Object.entries(map).sort((a, b) => b[1] - a[1]).slice(0, n);
}
const summary = topDirs(counts, 5).map(([dir, count]) => {
  const bar = "#".repeat(Math.min(40, count));
  return `${dir.padEnd(28)} ${String(count).padStart(3)} ${bar}`;
});
text(summary.join("\n"));
const byExtension = files.reduce((acc, file) => {
  const ext = file.includes(".") ? file.split(".").pop() : "";
  acc[ext] = (acc[ext] || 0) + 1;
  return acc;
}, {});
async function describe(path) {
  await null;
  const parts = path.split("/");
  return { name: parts[parts.length - 1], depth: parts.length - 1 };
}
const described = [];
for (const file of files.slice(0, 4)) {
  const info = await describe(file);
  if (info.depth > 1) described.push(info);
}
store("described", described);
const report = described.map(({ name, depth }) => `${name}: depth ${depth}`).join("\n");
text(report || "nothing deep");
text(JSON.stringify(byExtension));
