// Where a model name lives in a registry: `host/namespace/model:tag` is
// `<scheme>://host/v2/namespace/model/...`. Plain http is used when the request says
// `insecure` (always, as Ollama does), when the name starts with `http://`, or when the host is
// loopback (as Docker does for localhost registries); otherwise https (`https://` forces it). A name starting with `http://` without `insecure`
// is refused, as Ollama refuses it ("insecure protocol http").
import { MoedError } from '../errors/index.js';
import { parseModelName, type ModelName } from '../store/names.js';

export interface RegistryRef {
  /** The model name without any scheme prefix. */
  name: ModelName;
  scheme: 'http' | 'https';
  /** host[:port] */
  host: string;
  /** namespace/model, the repository of the registry API. */
  repository: string;
  tag: string;
}

export function isLoopbackHost(host: string): boolean {
  const hostname = host.replace(/:\d+$/, '').toLowerCase();
  return hostname === 'localhost' || hostname.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(hostname);
}

export function registryRef(input: string, insecure: boolean): RegistryRef {
  let text = input;
  let scheme: 'http' | 'https' | undefined;
  const m = /^(https?):\/\//i.exec(text);
  if (m) {
    scheme = m[1]!.toLowerCase() as 'http' | 'https';
    text = text.slice(m[0].length);
  }
  const name = parseModelName(text);
  if (scheme === 'http' && !insecure) throw new MoedError('INVALID_REQUEST', 'insecure protocol http');
  if (insecure) scheme = 'http';
  else if (!scheme) scheme = isLoopbackHost(name.host) ? 'http' : 'https';
  return { name, scheme, host: name.host, repository: `${name.namespace}/${name.model}`, tag: name.tag };
}
