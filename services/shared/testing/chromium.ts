// Headless Chromium for tests, driven through the Chrome DevTools Protocol over its WebSocket with
// nothing but Node's own modules: Node 20 has no WebSocket client without a flag, and a browser
// automation package would pin us to its Chromium revision, while the test uses Debian's
// `chromium`. The client side of RFC 6455 needed here is small: one handshake, masked text frames
// out, unmasked (possibly fragmented) frames in, ping answered with pong.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM_BIN = process.env.MESHLESS_CHROMIUM ?? '/usr/bin/chromium';

/** Why a browser test cannot run here, or undefined when it can. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM_BIN)
    ? undefined
    : `${CHROMIUM_BIN} not found (apt-get install chromium, or bash infra/install.sh)`;
}

// RFC 6455 §1.3: the GUID the server appends to our key before hashing it.
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const Opcode = { Continuation: 0x0, Text: 0x1, Binary: 0x2, Close: 0x8, Ping: 0x9, Pong: 0xa } as const;

class WebSocketClient {
  private buffer: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];

  private constructor(
    private readonly socket: Socket,
    private readonly onText: (text: string) => void,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
  }

  static connect(url: string, onText: (text: string) => void, onClose: () => void): Promise<WebSocketClient> {
    const key = randomBytes(16).toString('base64');
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const req = request({
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Key': key,
          'Sec-WebSocket-Version': '13',
        },
      });
      req.on('upgrade', (res, socket, head) => {
        const accept = createHash('sha1')
          .update(key + WS_GUID)
          .digest('base64');
        if (res.headers['sec-websocket-accept'] !== accept) {
          socket.destroy();
          return reject(new Error('websocket handshake: wrong Sec-WebSocket-Accept'));
        }
        socket.setNoDelay(true);
        socket.on('close', onClose);
        const ws = new WebSocketClient(socket, onText);
        if (head.length) ws.receive(head);
        resolve(ws);
      });
      req.on('response', (res) => reject(new Error(`websocket handshake: HTTP ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
  }

  send(text: string, opcode: number = Opcode.Text): void {
    const payload = Buffer.from(text);
    const n = payload.length;
    const header = Buffer.alloc(n < 126 ? 2 : n < 65536 ? 4 : 10);
    header[0] = 0x80 | opcode; // FIN
    if (n < 126)
      header[1] = 0x80 | n; // RFC 6455 §5.3: a client masks every frame.
    else if (n < 65536) {
      header[1] = 0x80 | 126;
      header.writeUInt16BE(n, 2);
    } else {
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(n), 2);
    }
    const mask = randomBytes(4);
    for (let i = 0; i < n; i++) payload[i]! ^= mask[i & 3]!;
    this.socket.write(Buffer.concat([header, mask, payload]));
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      if (this.buffer.length < 2) return;
      const fin = (this.buffer[0]! & 0x80) !== 0;
      const opcode = this.buffer[0]! & 0x0f;
      let len = this.buffer[1]! & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (this.buffer.length < 4) return;
        len = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (len === 127) {
        if (this.buffer.length < 10) return;
        len = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.buffer.length < offset + len) return;
      const payload = this.buffer.subarray(offset, offset + len);
      this.buffer = this.buffer.subarray(offset + len);
      if (opcode === Opcode.Ping) this.send(payload.toString(), Opcode.Pong);
      else if (opcode === Opcode.Close) this.socket.end();
      else if (opcode === Opcode.Text || opcode === Opcode.Binary || opcode === Opcode.Continuation) {
        this.fragments.push(Buffer.from(payload));
        if (fin) {
          const text = Buffer.concat(this.fragments).toString('utf8');
          this.fragments = [];
          this.onText(text);
        }
      }
    }
  }
}

export interface BrowserPage {
  /** Loads `url` and waits for its load event. */
  navigate(url: string): Promise<void>;
  /** Evaluates `expression` in the page; resolves to its (JSON-able) value. */
  evaluate<T>(expression: string): Promise<T>;
  /** A PNG of the viewport. */
  screenshot(): Promise<Buffer>;
  /** Messages the page logged with console.error and uncaught exceptions. */
  readonly errors: string[];
}

export interface Browser {
  newPage(width?: number, height?: number): Promise<BrowserPage>;
  close(): Promise<void>;
}

/** Starts headless Chromium with a fresh profile and connects to it. */
export async function launchChromium(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'meshless-chromium-'));
  const child: ChildProcess = spawn(
    CHROMIUM_BIN,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--hide-scrollbars',
      '--mute-audio',
      `--user-data-dir=${profile}`,
      '--remote-debugging-address=127.0.0.1',
      '--remote-debugging-port=0',
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let stderr = '';
  const wsUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`chromium did not start its DevTools endpoint within 30 s:\n${stderr}`)),
      30_000,
    );
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      stderr += d;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`chromium exited with code ${code}:\n${stderr}`));
    });
  });

  let nextId = 1;
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void; method: string }>();
  const handlers = new Map<string, (method: string, params: any) => void>();
  const ws = await WebSocketClient.connect(
    wsUrl,
    (text) => {
      const msg = JSON.parse(text) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
        method?: string;
        params?: unknown;
        sessionId?: string;
      };
      if (msg.id !== undefined) {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(`${p.method}: ${msg.error.message}`));
        else p?.resolve(msg.result);
      } else if (msg.method && msg.sessionId) handlers.get(msg.sessionId)?.(msg.method, msg.params);
    },
    () => {
      for (const p of pending.values()) p.reject(new Error(`${p.method}: the browser connection closed`));
      pending.clear();
    },
  );
  const send = <T = any>(method: string, params: object = {}, sessionId?: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject, method });
      ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });

  return {
    async newPage(width = 1440, height = 900) {
      const { targetId } = await send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' });
      const { sessionId } = await send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true });
      const errors: string[] = [];
      let loaded: (() => void) | undefined;
      handlers.set(sessionId, (method, params) => {
        if (method === 'Page.loadEventFired') loaded?.();
        else if (method === 'Runtime.exceptionThrown')
          errors.push(params.exceptionDetails?.exception?.description ?? params.exceptionDetails?.text);
        else if (method === 'Runtime.consoleAPICalled' && params.type === 'error')
          errors.push(
            params.args.map((a: { value?: unknown; description?: string }) => a.value ?? a.description).join(' '),
          );
      });
      await send('Page.enable', {}, sessionId);
      await send('Runtime.enable', {}, sessionId);
      await send(
        'Emulation.setDeviceMetricsOverride',
        { width, height, deviceScaleFactor: 1, mobile: false },
        sessionId,
      );
      return {
        errors,
        async navigate(url) {
          const done = new Promise<void>((r) => (loaded = r));
          const res = await send<{ errorText?: string }>('Page.navigate', { url }, sessionId);
          if (res.errorText) throw new Error(`navigating to ${url}: ${res.errorText}`);
          await done;
        },
        async evaluate<T>(expression: string) {
          const res = await send<{
            result: { value?: T };
            exceptionDetails?: { text: string; exception?: { description?: string } };
          }>('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, sessionId);
          if (res.exceptionDetails)
            throw new Error(
              `evaluating ${expression}: ${res.exceptionDetails.exception?.description ?? res.exceptionDetails.text}`,
            );
          return res.result.value as T;
        },
        async screenshot() {
          const { data } = await send<{ data: string }>(
            'Page.captureScreenshot',
            { format: 'png', captureBeyondViewport: false },
            sessionId,
          );
          return Buffer.from(data, 'base64');
        },
      };
    },
    async close() {
      await send('Browser.close').catch(() => undefined);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      ws.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
