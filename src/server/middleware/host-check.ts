// DNS-rebinding guard, as Ollama's allowedHostsMiddleware (reference G16). Only while the daemon
// listens on a loopback address: a page on evil.example whose name was re-pointed at 127.0.0.1
// sends `Host: evil.example`, and gets 403. Hosts that pass: none/empty, localhost, a loopback,
// private or unspecified IP, an address of this machine, the machine's hostname, and names
// under .localhost, .local and .internal (so host.docker.internal passes).
import { isIP } from 'node:net';
import os from 'node:os';
import type { Context, Next } from 'koa';
import { MoedError } from '../../errors/index.js';

function ipv4Parts(ip: string): number[] | undefined {
  const parts = ip.split('.').map(Number);
  return parts.length === 4 && parts.every((p) => Number.isInteger(p) && p >= 0 && p <= 255) ? parts : undefined;
}

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as its IPv4 form, as Go's Unmap does. */
function unmap(ip: string): string {
  const m = /^(?:::|(?:0{1,4}:){5})ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip;
}

function expandV6(ip: string): number[] | undefined {
  const halves = ip.toLowerCase().split('::');
  if (halves.length > 2) return undefined;
  const part = (s: string) => (s === '' ? [] : s.split(':').map((h) => Number.parseInt(h, 16)));
  const head = part(halves[0]!);
  const tail = halves.length === 2 ? part(halves[1]!) : [];
  const fill = 8 - head.length - tail.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return undefined;
  const words = [...head, ...Array(fill).fill(0), ...tail];
  return words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff) ? words : undefined;
}

export function isLoopbackIp(address: string): boolean {
  const ip = unmap(address);
  const v4 = ipv4Parts(ip);
  if (v4) return v4[0] === 127;
  const v6 = expandV6(ip);
  return !!v6 && v6.slice(0, 7).every((w) => w === 0) && v6[7] === 1;
}

/** Go's netip.Addr IsPrivate: 10/8, 172.16/12, 192.168/16, fc00::/7. */
export function isPrivateIp(address: string): boolean {
  const ip = unmap(address);
  const v4 = ipv4Parts(ip);
  if (v4) return v4[0] === 10 || (v4[0] === 172 && (v4[1]! & 0xf0) === 16) || (v4[0] === 192 && v4[1] === 168);
  const v6 = expandV6(ip);
  return !!v6 && (v6[0]! & 0xfe00) === 0xfc00;
}

export function isUnspecifiedIp(address: string): boolean {
  const ip = unmap(address);
  if (ipv4Parts(ip)) return ip === '0.0.0.0';
  const v6 = expandV6(ip);
  return !!v6 && v6.every((w) => w === 0);
}

function isLocalIp(address: string): boolean {
  const want = unmap(address).toLowerCase();
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.address.toLowerCase().split('%')[0] === want) return true;
  }
  return false;
}

/** Ollama's allowedHost for a name that is not an IP. */
export function isAllowedHostName(host: string): boolean {
  const h = host.toLowerCase();
  if (h === '' || h === 'localhost') return true;
  if (h === os.hostname().toLowerCase()) return true;
  return ['localhost', 'local', 'internal'].some((tld) => h.endsWith(`.${tld}`));
}

/** The host part of a Host header: "[::1]:11434" → "::1", "localhost:11434" → "localhost". */
export function hostOfHeader(header: string): string {
  const v = header.trim();
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(v);
  if (bracketed) return bracketed[1]!;
  const colon = v.lastIndexOf(':');
  if (colon >= 0 && v.indexOf(':') === colon) return v.slice(0, colon);
  return v;
}

export function isAllowedHost(header: string): boolean {
  const host = hostOfHeader(header);
  if (isIP(host)) return isLoopbackIp(host) || isPrivateIp(host) || isUnspecifiedIp(host) || isLocalIp(host);
  return isAllowedHostName(host);
}

/** True when the configured listen host is a loopback address (the only case the guard acts). */
export function listensOnLoopback(listenHost: string): boolean {
  const h = listenHost.replace(/^\[|\]$/g, '');
  if (h.toLowerCase() === 'localhost') return true;
  return isIP(h) !== 0 && isLoopbackIp(h);
}

export function hostCheck(listenHost: string | undefined) {
  const active = listenHost !== undefined && listensOnLoopback(listenHost);
  return async (ctx: Context, next: Next) => {
    if (!active) return next();
    const header = ctx.req.headers.host ?? '';
    if (!isAllowedHost(header)) {
      throw new MoedError(
        'FORBIDDEN',
        `host ${JSON.stringify(hostOfHeader(header))} is not allowed: moed listens on loopback and answers only this machine's names (set OLLAMA_HOST to listen on the network)`,
      );
    }
    // Ollama answers a preflight of an allowed name here (after CORS let it through).
    if (ctx.method === 'OPTIONS' && !isIP(hostOfHeader(header))) {
      ctx.status = 204;
      return;
    }
    await next();
  };
}
