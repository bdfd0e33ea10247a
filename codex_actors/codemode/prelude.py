"""The JavaScript side of a cell: helper globals and the channel to the host (spec code-mode.md 2.1-2.4).

Facts about mini-racer 0.14 that shape this file:
- A JS -> Python callback arrives as an *array* handle, and reading an array needs the isolate, which is blocked
  while JS runs (`while (true) {}`). So JS never passes data through callback arguments: it writes JSON messages
  into a SharedArrayBuffer ring that Python reads directly, then calls `wake()` (an argument-less notification).
  Messages that do not fit wait in a JS queue that Python pulls with `drain()` once the isolate is idle.
- `Atomics`, `SharedArrayBuffer` and `console` are deleted before user code runs; the prelude keeps private
  references (the ring and the `Atomics.waitAsync` timers need them).
- Host entry points live under `globalThis[Symbol.for("codex.host")]`, which `getOwnPropertyNames` does not list.

Ring layout (little endian): Int32 tail at byte 0 and head at byte 4 (uint32 counters of u16 units, wrapping),
Int32 overflow flag at byte 8; data from byte 64, `RING_UNITS` u16 units. A message is two u16 units of length
(low, high) followed by the JSON text as UTF-16 code units.
"""

HOST_KEY = 'globalThis[Symbol.for("codex.host")]'
RING_UNITS = 1 << 19
RING_DATA_OFFSET = 64
EXIT_SENTINEL = "__codex_code_mode_exit__"

PRELUDE_JS = r"""
(function (wake) {
  "use strict";
  const g = globalThis;
  const SAB = g.SharedArrayBuffer;
  const A = g.Atomics;
  const waitAsync = A.waitAsync;
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const CAP = __RING_UNITS__;
  const sab = new SAB(__RING_OFFSET__ + CAP * 2);
  const ctl = new Int32Array(sab, 0, 4);
  const ring = new Uint16Array(sab, __RING_OFFSET__, CAP);
  const MASK = CAP - 1;
  const queue = [];
  const EXIT = "__EXIT__";
  const REMOTE = "Tool call failed: remote image URLs are not supported in tool outputs. Pass a base64 data URI instead";
  const EXPECTS = "image expects a non-empty image URL string, an object with image_url and optional detail, or a raw MCP image block";
  const DETAILS = ["auto", "low", "high", "original"];
  let finished = false;
  let exitRequested = false;
  let timerSeq = 0;
  let toolSeq = 0;
  const timers = new Set();
  const pending = new Map();
  const view = new Map();
  const writes = {};

  function post(msg) {
    const s = stringify(msg);
    const need = s.length + 2;
    if (queue.length === 0) {
      const tail = A.load(ctl, 0);
      const used = (tail - A.load(ctl, 1)) >>> 0;
      if (CAP - used >= need) {
        ring[tail & MASK] = s.length & 0xffff;
        ring[(tail + 1) & MASK] = s.length >>> 16;
        for (let i = 0; i < s.length; i++) ring[(tail + 2 + i) & MASK] = s.charCodeAt(i);
        A.store(ctl, 0, (tail + need) | 0);
        wake();
        return;
      }
    }
    queue.push(s);
    A.store(ctl, 2, 1);
    wake();
  }

  function errorText(e) {
    if (e !== null && typeof e === "object" && typeof e.stack === "string") return e.stack;
    try { return String(e); } catch (_) { return "uncaught exception"; }
  }

  function finish(error) {
    if (finished) return;
    finished = true;
    timers.clear();
    pending.clear();
    post({ t: "done", error: error, writes: writes });
  }

  function serialize(value) {
    const kind = typeof value;
    if (value === undefined || value === null || kind === "boolean" || kind === "number" || kind === "bigint" || kind === "string") {
      return String(value);
    }
    const s = stringify(value);
    return s === undefined ? String(value) : s;
  }

  function detailOf(value) {
    if (value === undefined || value === null) return null;
    if (typeof value !== "string") throw "image detail must be a string when provided";
    const lower = value.toLowerCase();
    if (!DETAILS.includes(lower)) throw "image detail must be one of: auto, low, high, original";
    return lower;
  }

  function checkUrl(url) {
    if (url === "") throw EXPECTS;
    if (/^https?:\/\//i.test(url)) throw REMOTE;
    if (!/^data:/i.test(url)) throw EXPECTS;
  }

  function imageItem(arg, detailArg) {
    let url;
    let detail = null;
    if (typeof arg === "string") {
      url = arg;
    } else if (arg !== null && typeof arg === "object" && !Array.isArray(arg)) {
      if (arg.image_url !== undefined) {
        if (typeof arg.image_url !== "string") throw EXPECTS;
        url = arg.image_url;
        if (arg.detail !== undefined && arg.detail !== null && typeof arg.detail !== "string") {
          throw "image detail must be a string when provided";
        }
        detail = arg.detail ?? null;
      } else if ("type" in arg) {
        if (arg.type !== "image") throw "image only accepts MCP image blocks, got " + stringify(String(arg.type));
        if (typeof arg.data !== "string" || arg.data === "") throw "image expected MCP image data";
        const mime = arg.mimeType ?? arg.mime_type ?? "application/octet-stream";
        url = /^data:/i.test(arg.data) ? arg.data : "data:" + mime + ";base64," + arg.data;
        const hinted = arg._meta !== null && typeof arg._meta === "object" ? arg._meta["codex/imageDetail"] : undefined;
        if (typeof hinted === "string" && DETAILS.includes(hinted)) detail = hinted;
      } else {
        throw EXPECTS;
      }
    } else {
      throw EXPECTS;
    }
    if (detailArg !== undefined && detailArg !== null) {
      if (typeof detailArg !== "string") throw "image detail must be a string when provided";
      detail = detailArg;
    }
    detail = detailOf(detail);
    checkUrl(url);
    return { type: "image", image_url: url, detail: detail };
  }

  function keyOf(key, message) {
    try { return `${key}`; } catch (_) { throw message; }
  }

  const helpers = {
    text(value) { post({ t: "item", item: { type: "text", text: serialize(value) } }); },
    image(urlOrItem, detail) { post({ t: "item", item: imageItem(urlOrItem, detail) }); },
    generatedImage(result) {
      if (result === null || typeof result !== "object" || typeof result.image_url !== "string") throw EXPECTS;
      checkUrl(result.image_url);
      post({ t: "item", item: { type: "image", image_url: result.image_url, detail: null } });
      if (result.output_hint !== undefined && result.output_hint !== null) {
        post({ t: "item", item: { type: "text", text: serialize(result.output_hint) } });
      }
    },
    store(key, value) {
      const k = keyOf(key, "store key must be a string");
      const s = stringify(value);
      if (s === undefined) throw "Unable to store " + stringify(k) + ". Only plain serializable objects can be stored.";
      view.set(k, s);
      writes[k] = s;
    },
    load(key) {
      const s = view.get(keyOf(key, "load key must be a string"));
      return s === undefined ? undefined : parse(s);
    },
    notify(value) {
      const s = serialize(value);
      if (s.trim() === "") throw "notify expects non-empty text";
      post({ t: "notify", text: s });
    },
    yield_control() { post({ t: "yield" }); },
    exit() { exitRequested = true; throw EXIT; },
    setTimeout(callback, delayMs) {
      if (typeof callback !== "function") throw "setTimeout expects a function callback";
      let delay = Number(delayMs);
      delay = Number.isFinite(delay) && delay > 0 ? Math.trunc(delay) : 0;
      const id = ++timerSeq;
      timers.add(id);
      const fire = () => {
        if (finished || !timers.has(id)) return;
        timers.delete(id);
        try { callback.call(undefined); } catch (e) { finish(e === EXIT && exitRequested ? null : errorText(e)); }
      };
      const waited = waitAsync.call(A, new Int32Array(new SAB(4)), 0, 0, delay);
      if (waited.async) waited.value.then(fire); else Promise.resolve().then(fire);
      return id;
    },
    clearTimeout(id) {
      if (id === undefined || id === null) return;
      let n;
      try { n = Number(id); } catch (_) { throw "clearTimeout expects a numeric timeout id"; }
      if (!Number.isFinite(n) || n <= 0) return;
      timers.delete(n);
    },
  };

  function toolFunction(index) {
    return function (...args) {
      const input = args.length > 0 ? stringify(args[0]) : undefined;
      const id = "tool-" + (++toolSeq);
      return new Promise((resolve, reject) => {
        pending.set(id, [resolve, reject]);
        post({ t: "tool", id: id, tool: index, input: input === undefined ? null : input });
      });
    };
  }

  const host = {
    configure(configJson) {
      const config = parse(configJson);
      for (const [k, v] of Object.entries(config.store)) view.set(k, v);
      const tools = {};
      config.tools.forEach((t, i) => { tools[t.name] = toolFunction(i); });
      const all = config.tools.map((t) => Object.freeze({ name: t.name, description: t.description }));
      for (const [name, fn] of Object.entries(helpers)) {
        Object.defineProperty(g, name, { value: fn, writable: true, configurable: true, enumerable: false });
      }
      g.tools = Object.freeze(tools);
      g.ALL_TOOLS = Object.freeze(all);
    },
    run(main) {
      let promise;
      try { promise = main(); } catch (e) { promise = Promise.reject(e); }
      promise.then(() => finish(null), (e) => finish(e === EXIT && exitRequested ? null : errorText(e)));
    },
    deliver(id, ok, payload) {
      const entry = pending.get(id);
      if (finished) return;
      if (entry === undefined) { finish("unknown tool call `" + id + "`"); return; }
      pending.delete(id);
      entry[ok ? 0 : 1](parse(payload));
    },
    drain() {
      const out = "[" + queue.join(",") + "]";
      queue.length = 0;
      A.store(ctl, 2, 0);
      return out;
    },
  };

  for (const name of ["console", "Atomics", "SharedArrayBuffer", "WebAssembly"]) delete g[name];
  Object.defineProperty(g, Symbol.for("codex.host"), { value: host });
  return sab;
})
""".replace("__RING_UNITS__", str(RING_UNITS)).replace("__RING_OFFSET__", str(RING_DATA_OFFSET)).replace(
    "__EXIT__", EXIT_SENTINEL
)
