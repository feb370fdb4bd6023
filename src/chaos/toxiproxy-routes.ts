/**
 * Toxiproxy's HTTP API as a pure function: method, path and body in, status and JSON
 * out. No sockets here, so every route is testable on its own; `toxiproxy-server.ts`
 * does the HTTP plumbing.
 *
 * Fidelity to Toxiproxy 2.x (api.go): same routes (POST or PATCH for updates), status
 * codes (201 for a created proxy and for populate, 200 for a created toxic, 204 for
 * deletes and reset), error bodies `{"error": "...", "status": n}` with Toxiproxy's
 * messages ("proxy not found", "toxic already exists", "missing required field: name",
 * "bad request body: …"), unknown top-level JSON fields ignored. Deliberate differences:
 * unknown toxic attributes and out-of-range values are a 400 (Toxiproxy ignores or
 * accepts them), a name given twice in one populate is a 400 (Toxiproxy's error carries no
 * status, so Go answers 500), a missing `listen` means 127.0.0.1:0 (not all interfaces),
 * and unknown routes answer with a JSON 404/405 instead of Go's plain text.
 */
import { hasCode } from '../errors.js';
import type { ChaosProxy, ProxyJson } from './chaos-proxy.js';
import type { ProxyInput, ProxyRegistry } from './proxy-registry.js';
import type { ToxicStream } from './toxic-types.js';
import { builtinToxics } from './toxics/index.js';

export interface ApiResponse {
  readonly status: number;
  /** Serialised as JSON; absent for 204. */
  readonly body?: unknown;
}

/** Thrown inside a route to answer with a Toxiproxy-style error. */
class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const badBody = (detail: string) => new ApiError(400, `bad request body: ${detail}`);

export function apiError(status: number, message: string): ApiResponse {
  return { status, body: { error: message, status } };
}

type Json = Record<string, unknown>;

function parseJson(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? '');
  } catch (err) {
    throw badBody(text === undefined || text.trim() === '' ? 'EOF' : (err as Error).message);
  }
}

function object(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badBody(`${what} must be a JSON object`);
  return value as Json;
}

function field<T>(body: Json, key: string, type: 'string' | 'boolean' | 'number' | 'object'): T | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  const actual = Array.isArray(v) ? 'array' : typeof v;
  if (actual !== type) throw badBody(`${key} must be ${type === 'object' ? 'an object' : `a ${type}`}, got ${actual}`);
  return v as T;
}

function proxyInput(body: Json, where = ''): ProxyInput {
  const name = field<string>(body, 'name', 'string');
  const upstream = field<string>(body, 'upstream', 'string');
  if (!name) throw new ApiError(400, `missing required field: name${where}`);
  if (!upstream) throw new ApiError(400, `missing required field: upstream${where}`);
  const listen = field<string>(body, 'listen', 'string');
  return { name, upstream, listen: listen === '' ? undefined : listen, enabled: field<boolean>(body, 'enabled', 'boolean') ?? true };
}

/** Maps wirewarden errors to Toxiproxy's statuses and messages. */
function toResponse(err: unknown): ApiResponse {
  if (err instanceof ApiError) return apiError(err.status, err.message);
  if (hasCode(err, 'WW_PROXY_NOT_FOUND')) return apiError(404, 'proxy not found');
  if (hasCode(err, 'WW_PROXY_EXISTS')) return apiError(409, 'proxy already exists');
  if (hasCode(err, 'WW_TOXIC_NOT_FOUND')) return apiError(404, 'toxic not found');
  if (hasCode(err, 'WW_TOXIC_EXISTS')) return apiError(409, 'toxic already exists');
  if (hasCode(err, 'WW_INVALID_OPTION')) return apiError(400, `bad request body: ${err.message}`);
  // Listen failures and anything unexpected: Toxiproxy answers 500 with the message.
  return apiError(500, err instanceof Error ? err.message : String(err));
}

const json = (proxy: ChaosProxy): ProxyJson => proxy.toJSON();

interface Route {
  readonly pattern: readonly string[];
  readonly methods: Readonly<Record<string, (ctx: RouteContext) => Promise<ApiResponse> | ApiResponse>>;
}

interface RouteContext {
  readonly registry: ProxyRegistry;
  readonly params: Readonly<Record<string, string>>;
  readonly body: string | undefined;
  readonly version: string;
}

const updateProxy = async ({ registry, params, body }: RouteContext): Promise<ApiResponse> => {
  const proxy = registry.get(params.proxy!);
  const b = object(parseJson(body), 'proxy');
  await proxy.update({
    listen: field<string>(b, 'listen', 'string'),
    upstream: field<string>(b, 'upstream', 'string'),
    enabled: field<boolean>(b, 'enabled', 'boolean'),
  });
  return { status: 200, body: json(proxy) };
};

const updateToxic = ({ registry, params, body }: RouteContext): ApiResponse => {
  const proxy = registry.get(params.proxy!);
  const b = object(parseJson(body), 'toxic');
  const toxic = proxy.updateToxic(params.toxic!, {
    toxicity: field<number>(b, 'toxicity', 'number'),
    attributes: field<Json>(b, 'attributes', 'object'),
  });
  return { status: 200, body: toxic };
};

const ROUTES: readonly Route[] = [
  {
    pattern: ['reset'],
    methods: { POST: async ({ registry }) => (await registry.reset(), { status: 204 }) },
  },
  {
    pattern: ['version'],
    methods: { GET: ({ version }) => ({ status: 200, body: { version } }) },
  },
  {
    pattern: ['populate'],
    methods: {
      POST: async ({ registry, body }) => {
        const list = parseJson(body);
        if (!Array.isArray(list)) throw badBody('expected a JSON array of proxies');
        const inputs = list.map((item, i) => proxyInput(object(item, `proxy ${i + 1}`), ` at proxy ${i + 1}`));
        try {
          const proxies = await registry.populate(inputs);
          return { status: 201, body: { proxies: proxies.map(json) } };
        } catch (err) {
          const res = toResponse(err);
          return { status: res.status, body: { ...(res.body as Json), proxies: [] } };
        }
      },
    },
  },
  {
    pattern: ['proxies'],
    methods: {
      GET: ({ registry }) => ({ status: 200, body: Object.fromEntries(registry.list().map((p) => [p.name, json(p)])) }),
      POST: async ({ registry, body }) => {
        const proxy = await registry.create(proxyInput(object(parseJson(body), 'proxy')));
        return { status: 201, body: json(proxy) };
      },
    },
  },
  {
    pattern: ['proxies', ':proxy'],
    methods: {
      GET: ({ registry, params }) => ({ status: 200, body: json(registry.get(params.proxy!)) }),
      POST: updateProxy,
      PATCH: updateProxy,
      DELETE: async ({ registry, params }) => (await registry.remove(params.proxy!), { status: 204 }),
    },
  },
  {
    pattern: ['proxies', ':proxy', 'toxics'],
    methods: {
      GET: ({ registry, params }) => ({ status: 200, body: registry.get(params.proxy!).toxics() }),
      POST: ({ registry, params, body }) => {
        const proxy = registry.get(params.proxy!);
        const b = object(parseJson(body), 'toxic');
        const stream = (field<string>(b, 'stream', 'string') ?? 'downstream').toLowerCase();
        if (stream !== 'upstream' && stream !== 'downstream') {
          throw new ApiError(400, 'stream was invalid, can be either upstream or downstream');
        }
        const type = field<string>(b, 'type', 'string') ?? '';
        if (!builtinToxics.has(type)) throw new ApiError(400, 'invalid toxic type');
        const toxic = proxy.addToxic({
          name: field<string>(b, 'name', 'string') || undefined,
          type,
          stream: stream as ToxicStream,
          toxicity: field<number>(b, 'toxicity', 'number'),
          attributes: field<Json>(b, 'attributes', 'object'),
        });
        return { status: 200, body: toxic };
      },
    },
  },
  {
    pattern: ['proxies', ':proxy', 'toxics', ':toxic'],
    methods: {
      GET: ({ registry, params }) => {
        const toxic = registry.get(params.proxy!).toxic(params.toxic!);
        if (!toxic) throw new ApiError(404, 'toxic not found');
        return { status: 200, body: toxic };
      },
      POST: updateToxic,
      PATCH: updateToxic,
      DELETE: ({ registry, params }) => (registry.get(params.proxy!).removeToxic(params.toxic!), { status: 204 }),
    },
  },
];

function match(pattern: readonly string[], segments: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p.startsWith(':')) params[p.slice(1)] = segments[i]!;
    else if (p !== segments[i]) return undefined;
  }
  return params;
}

/**
 * Answers one API request. Never throws: every failure is a Toxiproxy-style error.
 *
 * @example
 * const res = await handleApiRequest(registry, 'GET', '/proxies', undefined, '0.1.0');
 * res.status; // 200
 */
export async function handleApiRequest(
  registry: ProxyRegistry,
  method: string,
  path: string,
  body: string | undefined,
  version: string,
): Promise<ApiResponse> {
  try {
    const pathname = path.split('?')[0]!;
    if (!pathname.startsWith('/')) return apiError(404, 'not found');
    let segments: string[];
    try {
      segments = pathname.slice(1).split('/').map((s) => decodeURIComponent(s));
    } catch {
      return apiError(400, 'bad request: malformed percent-encoding in path');
    }
    for (const route of ROUTES) {
      const params = match(route.pattern, segments);
      if (!params) continue;
      const handler = route.methods[method];
      if (!handler) return apiError(405, `method ${method} not allowed on ${pathname}`);
      return await handler({ registry, params, body, version });
    }
    return apiError(404, 'not found');
  } catch (err) {
    return toResponse(err);
  }
}
