import type { WasmMemory, WasmModule } from './runtime.js';

// Worker threads for the WASM backend: worker_threads in Node, Web Workers in browsers. Every
// worker instantiates the same compiled module over the same shared WasmMemory and runs
// lists of kernel calls on ranges of a job the calling thread has already laid out in memory.

/** One kernel call: export name and integer/pointer arguments. */
export type KernelCall = readonly [name: string, args: readonly number[]];

interface Pending {
  resolve(results: number[]): void;
  reject(err: Error): void;
}

interface Port {
  post(msg: unknown): void;
  onMessage(fn: (msg: unknown) => void): void;
  onFailure(fn: (err: Error) => void): void;
  terminate(): void;
  /** Keep the host alive while a call is pending (Node); no-op for Web Workers. */
  hold(busy: boolean): void;
}

// The worker's code, shared by both worker flavours. It imports nothing but the worker_threads
// built-in, which it loads with import() — valid both as a script and as an ES module — so it runs
// from a string however the host evaluates it (Node evaluates eval workers as ES modules under
// --input-type=module or --experimental-default-type=module). The parent, which knows which kind
// of worker it started, names the flavour: the worker never guesses its environment.
const workerSource = (flavour: 'node' | 'web') => `
'use strict';
(function (flavour) {
  var start = function (port, listen) {
    var post = function (m) { port.postMessage(m); };
    var kernels = null;
    listen(port, function (msg) {
      if (msg.type === 'init') {
        try {
          kernels = new WebAssembly.Instance(msg.module, { env: { memory: msg.memory } }).exports;
          post({ id: msg.id, ok: true, results: [] });
        } catch (e) {
          post({ id: msg.id, ok: false, error: String(e && e.message || e) });
        }
        return;
      }
      if (msg.type === 'run') {
        var results = [];
        try {
          for (var i = 0; i < msg.calls.length; i++) {
            var c = msg.calls[i];
            var r = kernels[c[0]].apply(null, c[1]);
            results.push(typeof r === 'number' ? r : 0);
          }
          post({ id: msg.id, ok: true, results: results });
        } catch (e) {
          post({ id: msg.id, ok: false, error: String(e && e.message || e), trap: e instanceof WebAssembly.RuntimeError });
        }
      }
    });
  };
  if (flavour === 'web') {
    start(self, function (port, fn) { port.onmessage = function (ev) { fn(ev.data); }; });
  } else {
    // messages posted before the listener is attached wait in parentPort's queue
    import('node:worker_threads').then(function (wt) {
      start(wt.parentPort, function (port, fn) { port.on('message', fn); });
    });
  }
})(${JSON.stringify(flavour)});
`;

/** A failure inside a worker's kernel call (a WebAssembly trap) or of the worker itself. */
export class WorkerCallError extends Error {
  constructor(
    message: string,
    readonly trap: boolean,
  ) {
    super(message);
  }
}

async function spawn(): Promise<Port> {
  const WebWorker = (globalThis as { Worker?: new (url: string) => WebWorkerLike }).Worker;
  if (typeof WebWorker === 'function' && typeof Blob === 'function' && typeof URL?.createObjectURL === 'function') {
    const url = URL.createObjectURL(new Blob([workerSource('web')], { type: 'text/javascript' }));
    const w = new WebWorker(url);
    URL.revokeObjectURL(url);
    return {
      post: (m) => w.postMessage(m),
      onMessage: (fn) => w.addEventListener('message', (ev) => fn((ev as MessageEvent).data)),
      onFailure: (fn) => w.addEventListener('error', (ev) => fn(new Error(String((ev as { message?: string }).message ?? 'worker error')))),
      terminate: () => w.terminate(),
      hold: () => {},
    };
  }
  const { Worker } = await import('node:worker_threads');
  // execArgv: [] — the parent's flags (--input-type, --import hooks, --experimental-*) are not
  // the worker's business; its source needs none of them.
  const w = new Worker(workerSource('node'), { eval: true, execArgv: [] });
  w.unref();
  return {
    post: (m) => w.postMessage(m),
    onMessage: (fn) => w.on('message', fn),
    onFailure: (fn) => {
      w.on('error', (e) => fn(e instanceof Error ? e : new Error(String(e))));
      w.on('exit', (code) => fn(new Error(`worker exited with code ${code}`)));
    },
    terminate: () => void w.terminate(),
    hold: (busy) => (busy ? w.ref() : w.unref()),
  };
}

interface WebWorkerLike {
  postMessage(m: unknown): void;
  addEventListener(type: string, fn: (ev: Event) => void): void;
  terminate(): void;
}

class PoolWorker {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private dead: Error | null = null;

  constructor(private readonly port: Port) {
    port.onMessage((raw) => {
      const msg = raw as { id: number; ok: boolean; results?: number[]; error?: string; trap?: boolean };
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (this.pending.size === 0) this.port.hold(false);
      if (msg.ok) p.resolve(msg.results ?? []);
      else p.reject(new WorkerCallError(msg.error ?? 'worker call failed', msg.trap === true));
    });
    port.onFailure((err) => {
      if (this.dead) return;
      this.dead = err;
      for (const p of this.pending.values()) p.reject(new WorkerCallError(err.message, false));
      this.pending.clear();
      this.port.hold(false);
    });
  }

  get alive(): boolean {
    return this.dead === null;
  }

  send(msg: Record<string, unknown>): Promise<number[]> {
    if (this.dead) return Promise.reject(new WorkerCallError(this.dead.message, false));
    const id = this.nextId++;
    return new Promise<number[]>((resolve, reject) => {
      if (this.pending.size === 0) this.port.hold(true);
      this.pending.set(id, { resolve, reject });
      this.port.post({ ...msg, id });
    });
  }

  terminate(): void {
    this.dead ??= new Error('worker pool disposed');
    this.port.terminate();
  }
}

/** A fixed set of workers sharing one memory with the calling thread. */
export class WorkerPool {
  private constructor(
    private readonly workers: PoolWorker[],
    private readonly module: WasmModule,
    private readonly memory: WasmMemory,
  ) {}

  static async create(count: number, module: WasmModule, memory: WasmMemory): Promise<WorkerPool> {
    const workers = await Promise.all(Array.from({ length: count }, () => WorkerPool.start(module, memory)));
    return new WorkerPool(workers, module, memory);
  }

  private static async start(module: WasmModule, memory: WasmMemory): Promise<PoolWorker> {
    const w = new PoolWorker(await spawn());
    await w.send({ type: 'init', module, memory });
    return w;
  }

  get size(): number {
    return this.workers.length;
  }

  /** Run `calls` on worker `i` (replacing it first if it died); resolves with each call's result. */
  async run(i: number, calls: readonly KernelCall[]): Promise<number[]> {
    if (!this.workers[i]!.alive) this.workers[i] = await WorkerPool.start(this.module, this.memory);
    return this.workers[i]!.send({ type: 'run', calls });
  }

  terminate(): void {
    for (const w of this.workers) w.terminate();
  }
}
