// CORS as Ollama configures gin-contrib/cors (reference G15): browser pages from localhost,
// 127.0.0.1 or 0.0.0.0 (any port, http or https), app://, file://, tauri://, vscode-webview://
// and vscode-file:// may call the API, plus the comma-separated OLLAMA_ORIGINS (`*` wildcards,
// `*` alone allows every origin). A request from any other origin gets 403; a preflight of an
// allowed one gets 204 with the allowed methods and headers. Requests without an Origin header
// (curl, SDKs, the CLI) and same-origin requests are not CORS requests and pass untouched.
import type { Context, Next } from 'koa';
import { MoedError } from '../../errors/index.js';

export const CORS_ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'User-Agent',
  'Accept',
  'X-Requested-With',
  // OpenAI SDKs
  'OpenAI-Beta',
  'x-stainless-arch',
  'x-stainless-async',
  'x-stainless-custom-poll-interval',
  'x-stainless-helper-method',
  'x-stainless-lang',
  'x-stainless-os',
  'x-stainless-package-version',
  'x-stainless-poll-helper',
  'x-stainless-retry-count',
  'x-stainless-runtime',
  'x-stainless-runtime-version',
  'x-stainless-timeout',
];

export const CORS_ALLOWED_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

/** envconfig.AllowedOrigins: OLLAMA_ORIGINS first, then the local defaults. */
export function allowedOrigins(extra: string[] = []): string[] {
  const out = [...extra];
  for (const host of ['localhost', '127.0.0.1', '0.0.0.0']) {
    out.push(`http://${host}`, `https://${host}`, `http://${host}:*`, `https://${host}:*`);
  }
  out.push('app://*', 'file://*', 'tauri://*', 'vscode-webview://*', 'vscode-file://*');
  return out;
}

function matcher(patterns: string[]): (origin: string) => boolean {
  const exact = new Set<string>();
  const wild: RegExp[] = [];
  for (const p of patterns.map((s) => s.trim()).filter(Boolean)) {
    if (!p.includes('*')) exact.add(p);
    else wild.push(new RegExp(`^${p.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`));
  }
  return (origin) => exact.has(origin) || wild.some((re) => re.test(origin));
}

export function cors(extraOrigins: string[] = []) {
  const patterns = allowedOrigins(extraOrigins);
  const allowAll = patterns.some((p) => p.trim() === '*');
  const allowed = matcher(patterns);
  return async (ctx: Context, next: Next) => {
    const origin = ctx.get('Origin');
    if (!origin) return next();
    const host = ctx.get('Host');
    if (origin === `http://${host}` || origin === `https://${host}`) return next();
    if (!allowAll && !allowed(origin)) {
      throw new MoedError('FORBIDDEN', `origin ${JSON.stringify(origin)} is not allowed; add it to OLLAMA_ORIGINS`);
    }
    ctx.set('Access-Control-Allow-Origin', allowAll ? '*' : origin);
    if (ctx.method === 'OPTIONS') {
      ctx.vary('Origin');
      ctx.vary('Access-Control-Request-Method');
      ctx.vary('Access-Control-Request-Headers');
      ctx.set('Access-Control-Allow-Methods', CORS_ALLOWED_METHODS.join(','));
      ctx.set('Access-Control-Allow-Headers', CORS_ALLOWED_HEADERS.join(','));
      ctx.set('Access-Control-Max-Age', String(12 * 60 * 60));
      ctx.status = 204;
      return;
    }
    if (!allowAll) ctx.vary('Origin');
    await next();
  };
}
