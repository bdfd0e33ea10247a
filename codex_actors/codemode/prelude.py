"""The JavaScript side of a cell: helper globals and the channel to the host (spec code-mode.md 2.1-2.4).

`PRELUDE_JS` is a function expression the runtime calls once per context, at creation, with `this` = the one
mini-racer JS callback (see `v8bridge`) and no arguments; the pre-configured tool list is part of its source. It
returns `[mailbox, host]`: the host calls `host()` once to start the job, then again for each batch of tool
results. Nothing of the host is reachable from user code: the callback, `host` and all state live in this closure
only; no global, no symbol.

The mailbox is a SharedArrayBuffer: four Int32 (log end, inbound count, inbound "more" flag, and what JS calls the
callback for: 1 `post`, 2 `pull`), then a log of `LOG` UTF-16 units and an inbound area of `IN` units.
- JS -> host: each message is appended to the log as frames (length, "more parts" bit, units) and the committed
  end is published with `Atomics.store`. Output is handed over (`post()`) once every microtask queued so far
  has run (in a macrotask of its own), so a cell's output and its completion travel in one callback even across
  awaits that settle at once; a tool call or notification at the end of the current burst of microtasks;
  `yield_control()` and the completion at once; a full log before appending. The host may also read the
  committed log from its own thread (a yield deadline during a busy loop); only the host, inside `post()`,
  resets it.
- host -> JS: `start()` reads the job `{code, store, tools?}` the host wrote before calling it, `receive()` calls
  `pull()` for tool results; one message (or part) per `pull()`, -1 when nothing is left.
Messages to the host: `{"t":"item","item":...}`, `{"t":"yield"}`, `{"t":"notify","text":...}`,
`{"t":"tool","id":"tool-N","tool":index,"input":json|null}`, `{"t":"done","error":text|null,"writes":{k:json}}`.
At creation a warm-up job of host code runs the exec path once, from `host()` and the mailbox on (its messages are
dropped); the real job's start returns the realm to a never-used state first, so the first exec does not pay for
lazy compilation (V8 compiles a function on its first call). Without `warm_up` (a runtime an exec is already
waiting for) that is skipped: the warm-up costs about 0.9 ms at creation and saves the exec about 0.2 ms.

The user's code becomes a strict async function built by the AsyncFunction constructor (a real parse of a
function body: a static `import` or a stray `})` is a SyntaxError, never an escape from a wrapper). Its frames
are named `exec_main.mjs`; `Error.prepareStackTrace` maps lines back to the user's own and drops host frames.
`console`, `Atomics`, `SharedArrayBuffer`, `WebAssembly` are deleted before user code runs.
"""

ENTRY_NAME = "exec_main.mjs"
HOST_SCRIPT_NAME = "codex_host.js"
EXIT_SENTINEL = "__codex_code_mode_exit__"
USE_STRICT_LINE = '"use strict";\n'
THROW_ARGUMENTS = "\u2135rgs__$"
"""The cell function's one parameter: what a top-level `arguments` is rewritten to call (see `module_goal`)."""
LINE_OFFSET = 3
"""Lines V8 puts before the user's first line: `(async function anonymous(<parameter>`, `) {`, and our
`"use strict";`."""

PRELUDE_JS = r"""
(function () {
  "use strict";
  const callHost = this;
  const configJson = __CONFIG__;
  const g = globalThis;
  const SAB = g.SharedArrayBuffer;
  const A = g.Atomics;
  const waitAsync = A.waitAsync;
  const FLUSH_AFTER_MS = 0.001;
  const uncurry = Function.prototype.call.bind(Function.prototype.bind);
  const call = Function.prototype.call;
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const apply = Reflect.apply;
  const defineProperty = Object.defineProperty;
  const freeze = Object.freeze;
  const fromCharCode = String.fromCharCode;
  const codeAt = uncurry(call, String.prototype.charCodeAt);
  const sliceStr = uncurry(call, String.prototype.slice);
  const trimStr = uncurry(call, String.prototype.trim);
  const lowerStr = uncurry(call, String.prototype.toLowerCase);
  const regexTest = uncurry(call, RegExp.prototype.test);
  const subarray = uncurry(call, Object.getPrototypeOf(Uint16Array.prototype).subarray);
  const errorToString = uncurry(call, Error.prototype.toString);
  const callsiteString = (cs) => { try { return "" + cs.toString(); } catch (_) { return "<unknown>"; } };
  const promiseThen = uncurry(call, Promise.prototype.then);
  const mapGet = uncurry(call, Map.prototype.get);
  const mapSet = uncurry(call, Map.prototype.set);
  const mapDelete = uncurry(call, Map.prototype.delete);
  const mapClear = uncurry(call, Map.prototype.clear);
  const setAdd = uncurry(call, Set.prototype.add);
  const setHas = uncurry(call, Set.prototype.has);
  const setDelete = uncurry(call, Set.prototype.delete);
  const setClear = uncurry(call, Set.prototype.clear);
  const resolved = Promise.resolve();
  const mathTrunc = Math.trunc;
  const isFinite = Number.isFinite;
  const toNumber = Number;
  const AsyncFunction = (async function () {}).constructor;
  const RefError = g.ReferenceError;
  const THROW_ARGUMENTS = "__THROW_ARGUMENTS__";
  // What a top-level `arguments` became (see module_goal): a module has no such binding.
  function throwArguments() { throw new RefError("arguments is not defined"); }
  const EXIT = "__EXIT__";
  const ENTRY = "__ENTRY__";
  const HOST = "__HOST__";
  const LINE_OFFSET = __LINE_OFFSET__;
  const LOG = __LOG_UNITS__;
  const IN = __IN_UNITS__;
  const REMOTE = "Tool call failed: remote image URLs are not supported in tool outputs. Pass a base64 data URI instead";
  const EXPECTS = "image expects a non-empty image URL string, an object with image_url and optional detail, or a raw MCP image block";
  const DETAILS = { auto: true, low: true, high: true, original: true };
  const HTTP = /^https?:\/\//i;
  const DATA = /^data:/i;

  const box = new SAB(16 + (LOG + IN) * 2);
  const ctl = new Int32Array(box, 0, 4);
  const units = new Uint16Array(box, 16);
  ctl[1] = -1;  // nothing inbound until the host writes the job
  function post() { ctl[3] = 1; callHost(); }
  function pull() { ctl[3] = 2; callHost(); }

  let started = false;
  let finished = false;
  let exitRequested = false;
  let flushPending = false;
  let hopPending = false;
  let timerSeq = 0;
  let toolSeq = 0;
  const timers = new Set();
  const pending = new Map();
  const view = new Map();
  const writeKeys = [];
  const writeValues = [];

  // JS -> host: frames [length low, length high | 0x8000 if more parts follow, UTF-16 units...] appended to
  // units[0, LOG); ctl[0] is the committed end (Atomics.store after the data), which the host may read at any
  // time. post() hands the log over; the host consumes it and resets ctl[0] to 0 while JS waits.
  function append(s) {
    const n = s.length;
    let off = 0;
    for (;;) {
      const end = A.load(ctl, 0);
      const room = LOG - end - 2;
      if (room <= 0) { post(); continue; }
      const m = n - off <= room ? n - off : room;
      const last = off + m === n;
      units[end] = m & 0xffff;
      units[end + 1] = (m >>> 16) | (last ? 0 : 0x8000);
      for (let i = 0; i < m; i++) units[end + 2 + i] = codeAt(s, off + i);
      A.store(ctl, 0, end + 2 + m);
      off += m;
      if (last) return;
      post();
    }
  }

  function flushNow() {
    if (A.load(ctl, 0) > 0) post();
  }

  // Output waits until every microtask queued so far has run (a macrotask: the wait below times out in a task of
  // its own), so a cell's output, its awaits that settle at once and its completion reach the host in one
  // callback. A tool call or notification goes at the end of the current burst of microtasks (two hops): the
  // cell waits for its answer. yield_control() and the completion are handed over at once.
  const flushWait = new Int32Array(new SAB(4));
  function flushLater() { flushPending = false; flushNow(); }
  function hop2() { hopPending = false; flushNow(); }
  function hop1() { promiseThen(resolved, hop2); }

  function send(s) {
    append(s);
    if (!flushPending) { flushPending = true; promiseThen(waitAsync(flushWait, 0, 0, FLUSH_AFTER_MS).value, flushLater); }
  }

  function sendSoon(s) {
    append(s);
    if (!hopPending) { hopPending = true; promiseThen(resolved, hop1); }
  }

  function sendNow(s) {
    append(s);
    flushNow();
  }

  // host -> JS: ctl[1] units at units[LOG, LOG + IN), ctl[2] = 1 when more parts follow; -1 = nothing. The host
  // writes during pull() (or before start()).
  function receiveOne(ready) {
    let text = "";
    for (;;) {
      if (!ready) { ctl[1] = -1; pull(); }
      ready = false;
      const m = ctl[1];
      if (m < 0) return text === "" ? undefined : text;
      for (let i = 0; i < m; i += 8192) {
        const end = i + 8192 < m ? i + 8192 : m;
        text += apply(fromCharCode, null, subarray(units, LOG + i, LOG + end));
      }
      if (ctl[2] === 0) return text;
    }
  }

  function errorText(e) {
    if (e !== null && typeof e === "object") {
      try {
        const stack = e.stack;
        if (typeof stack === "string") return stack;
      } catch (_) {}
    }
    try { return "" + e; } catch (_) { return "uncaught exception"; }
  }

  function finish(error) {
    if (finished) return;
    finished = true;
    setClear(timers);
    mapClear(pending);
    let writes = "{";
    for (let i = 0; i < writeKeys.length; i++) {
      writes += (i ? "," : "") + stringify(writeKeys[i]) + ":" + stringify(writeValues[i]);
    }
    sendNow('{"t":"done","error":' + (error === null ? "null" : stringify(error)) + ',"writes":' + writes + "}}");
  }

  function sendItem(item) {
    send('{"t":"item","item":' + item + "}");
  }

  function textItem(text) {
    return '{"type":"text","text":' + stringify(text) + "}";
  }

  function serialize(value) {
    const kind = typeof value;
    if (value === undefined || value === null || kind === "boolean" || kind === "number" || kind === "bigint" || kind === "string") {
      return "" + value;
    }
    const s = stringify(value);
    return s === undefined ? "" + value : s;
  }

  function detailOf(value) {
    if (value === undefined || value === null) return null;
    if (typeof value !== "string") throw "image detail must be a string when provided";
    const lower = lowerStr(value);
    if (DETAILS[lower] !== true) throw "image detail must be one of: auto, low, high, original";
    return lower;
  }

  function checkUrl(url) {
    if (url === "") throw EXPECTS;
    if (regexTest(HTTP, url)) throw REMOTE;
    if (!regexTest(DATA, url)) throw EXPECTS;
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
        if (arg.type !== "image") throw "image only accepts MCP image blocks, got " + stringify("" + arg.type);
        if (typeof arg.data !== "string" || arg.data === "") throw "image expected MCP image data";
        const mime = arg.mimeType ?? arg.mime_type ?? "application/octet-stream";
        url = regexTest(DATA, arg.data) ? arg.data : "data:" + mime + ";base64," + arg.data;
        const hinted = arg._meta !== null && typeof arg._meta === "object" ? arg._meta["codex/imageDetail"] : undefined;
        if (typeof hinted === "string" && DETAILS[hinted] === true) detail = hinted;
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
    return '{"type":"image","image_url":' + stringify("" + url) + ',"detail":' + (detail === null ? "null" : stringify(detail)) + "}";
  }

  function keyOf(key, message) {
    try { return `${key}`; } catch (_) { throw message; }
  }

  const helpers = {
    text(value) { sendItem(textItem(serialize(value))); },
    image(urlOrItem, detail) { sendItem(imageItem(urlOrItem, detail)); },
    generatedImage(result) {
      if (result === null || typeof result !== "object" || typeof result.image_url !== "string") throw EXPECTS;
      const url = result.image_url;
      checkUrl(url);
      sendItem('{"type":"image","image_url":' + stringify(url) + ',"detail":null}');
      if (result.output_hint !== undefined && result.output_hint !== null) sendItem(textItem(serialize(result.output_hint)));
    },
    store(key, value) {
      const k = keyOf(key, "store key must be a string");
      const s = stringify(value);
      if (s === undefined) throw "Unable to store " + stringify(k) + ". Only plain serializable objects can be stored.";
      mapSet(view, k, s);
      writeKeys[writeKeys.length] = k;
      writeValues[writeValues.length] = s;
    },
    load(key) {
      const s = mapGet(view, keyOf(key, "load key must be a string"));
      return s === undefined ? undefined : parse(s);
    },
    notify(value) {
      const s = serialize(value);
      if (trimStr(s) === "") throw "notify expects non-empty text";
      sendSoon('{"t":"notify","text":' + stringify(s) + "}");
    },
    yield_control() { sendNow('{"t":"yield"}'); },
    exit() { exitRequested = true; throw EXIT; },
    setTimeout(callback, delayMs) {
      if (typeof callback !== "function") throw "setTimeout expects a function callback";
      let delay = toNumber(delayMs);
      delay = isFinite(delay) && delay > 0 ? mathTrunc(delay) : 0;
      const id = ++timerSeq;
      setAdd(timers, id);
      const fire = () => {
        if (finished || !setHas(timers, id)) return;
        setDelete(timers, id);
        try { apply(callback, undefined, []); } catch (e) { finish(e === EXIT && exitRequested ? null : errorText(e)); }
      };
      const waited = waitAsync(new Int32Array(new SAB(4)), 0, 0, delay);
      if (waited.async) promiseThen(waited.value, fire); else promiseThen(resolved, fire);
      return id;
    },
    clearTimeout(id) {
      if (id === undefined || id === null) return;
      let n;
      try { n = toNumber(id); } catch (_) { throw "clearTimeout expects a numeric timeout id"; }
      if (!isFinite(n) || n <= 0) return;
      setDelete(timers, n);
    },
  };

  function toolFunction(index) {
    return function (...args) {
      const input = args.length > 0 ? stringify(args[0]) : undefined;
      const id = "tool-" + (++toolSeq);
      return new Promise((resolve, reject) => {
        mapSet(pending, id, [resolve, reject]);
        sendSoon('{"t":"tool","id":' + stringify(id) + ',"tool":' + index + ',"input":' + (input === undefined ? "null" : stringify(input)) + "}");
      });
    };
  }

  function configure(tools) {
    const table = {};
    const all = [];
    for (let i = 0; i < tools.length; i++) {
      const t = tools[i];
      table[t.name] = toolFunction(i);
      all[i] = freeze({ name: t.name, description: t.description });
    }
    defineProperty(g, "tools", { value: freeze(table), writable: true, configurable: true, enumerable: true });
    defineProperty(g, "ALL_TOOLS", { value: freeze(all), writable: true, configurable: true, enumerable: true });
  }

  function userFrame(cs) {
    let line = cs.getLineNumber();
    line = typeof line === "number" ? line - LINE_OFFSET : line;
    const where = ENTRY + ":" + line + ":" + cs.getColumnNumber();
    const name = cs.getFunctionName();
    const prefix = cs.isAsync() ? "async " : "";
    if (!name || name === "eval" || name === "anonymous") return prefix + where;
    return prefix + name + " (" + where + ")";
  }

  function prepareStackTrace(error, callsites) {
    let head;
    try { head = errorToString(error); } catch (_) { head = "Error"; }
    let out = head;
    for (let i = 0; i < callsites.length; i++) {
      const cs = callsites[i];
      let file;
      try { file = cs.getScriptNameOrSourceURL(); } catch (_) { file = undefined; }
      if (file === HOST) continue;
      out += "\n    at " + (file === ENTRY ? userFrame(cs) : callsiteString(cs));
    }
    return out;
  }

  function run(main) {
    let promise;
    try { promise = main(throwArguments); } catch (e) { promise = promiseThen(resolved, () => { throw e; }); }
    promiseThen(promise, () => finish(null), (e) => finish(e === EXIT && exitRequested ? null : errorText(e)));
  }

  function begin(job) {
    const stored = job.store;
    for (const k in stored) mapSet(view, k, stored[k]);
    if (job.tools !== undefined) configure(job.tools);
    // A SyntaxError leaves through this call, so the host sees V8's position of it (`<name>:<line>: ...`).
    const main = new AsyncFunction(THROW_ARGUMENTS, __USE_STRICT__ + job.code + "\n//# sourceURL=" + ENTRY);
    run(main);
  }

  let warm = false;  // true from the end of the warm-up job until the real job's start() has reset
  function start() {
    if (warm) { warm = false; reset(); }
    started = true;
    begin(parse(receiveOne(ctl[1] >= 0)));  // the host usually wrote the job before calling start()
  }

  function reset() {
    // Back to a never-used state after the creation-time warm-up job (host code only).
    started = finished = exitRequested = flushPending = hopPending = false;
    timerSeq = toolSeq = 0;
    setClear(timers);
    mapClear(pending);
    mapClear(view);
    writeKeys.length = 0;
    writeValues.length = 0;
    A.store(ctl, 0, 0);
  }

  function receive() {
    for (;;) {
      const text = receiveOne(false);
      if (text === undefined) return;
      if (finished) continue;
      const msg = parse(text);
      const entry = mapGet(pending, msg.id);
      if (entry === undefined) { finish("unknown tool call `" + msg.id + "`"); continue; }
      mapDelete(pending, msg.id);
      apply(entry[msg.ok ? 0 : 1], undefined, [parse(msg.payload)]);
    }
  }

  for (const name of ["console", "Atomics", "SharedArrayBuffer", "WebAssembly"]) delete g[name];
  defineProperty(Error, "prepareStackTrace", { value: prepareStackTrace, writable: true, configurable: true, enumerable: false });
  for (const name in helpers) {
    defineProperty(g, name, { value: helpers[name], writable: true, configurable: true, enumerable: false });
  }
  configure(parse(configJson));
  function host() { if (started) receive(); else start(); }
  // Warm the paths every exec takes with a job of host code, written to the mailbox as the host writes a job
  // (its messages are dropped: no job is bound yet), so the first exec compiles only the user's code: V8
  // compiles a function on its first call, about 0.15 ms for these. The job's completion runs after this
  // function returns; the real job's start() resets first.
  if (__WARM_UP__) {
    const warmJob = '{"code":"text(\\"\\"); text({}); load(\\"k\\"); notify(\\"w\\");","store":{}}';
    for (let i = 0; i < warmJob.length; i++) units[LOG + i] = codeAt(warmJob, i);
    ctl[2] = 0;
    ctl[1] = warmJob.length;
    host();  // start()
    receive();  // pulls nothing
    reset();  // compiled now; the job's completion still runs after this, so the real start() resets again
    warm = true;
  }
  return [box, host];
})
//# sourceURL=__HOST__
"""


def prelude_js(log_units: int, in_units: int, tools: list[dict[str, str]], *, warm_up: bool = True) -> str:
    """The prelude with its constants filled in: `log_units` UTF-16 units for JS -> host, `in_units` back,
    `tools` (`[{name, description}]`) as the pre-configured tool set, and whether the creation-time warm-up job
    runs (`warm_up`)."""
    import json

    return (
        PRELUDE_JS.replace("__CONFIG__", json.dumps(json.dumps(tools))).replace("__LOG_UNITS__", str(log_units))
        .replace("__IN_UNITS__", str(in_units))
        .replace("__LINE_OFFSET__", str(LINE_OFFSET))
        .replace("__USE_STRICT__", json.dumps(USE_STRICT_LINE))
        .replace("__EXIT__", EXIT_SENTINEL)
        .replace("__ENTRY__", ENTRY_NAME)
        .replace("__HOST__", HOST_SCRIPT_NAME)
        .replace("__THROW_ARGUMENTS__", THROW_ARGUMENTS)
        .replace("__WARM_UP__", "true" if warm_up else "false")
    )
