// Stripe's v1 request bodies: application/x-www-form-urlencoded with bracketed keys
// (`transfer_data[destination]=acct_1`, `expand[0]=setup_intent`, `expand[]=x`). Parsed into a tree of
// strings; numeric or empty brackets make arrays, as Stripe reads them.

export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };

export class FormError extends Error {
  constructor(
    message: string,
    readonly param: string,
  ) {
    super(message);
  }
}

/** Splits `a[b][0]` into ['a', 'b', '0']; `a[]` into ['a', '']. */
function pathOf(key: string): string[] {
  const first = key.indexOf('[');
  if (first === -1) return [key];
  const parts = [key.slice(0, first)];
  const re = /\[([^[\]]*)\]/gy;
  re.lastIndex = first;
  for (let m = re.exec(key); m; m = re.exec(key)) {
    parts.push(m[1]!);
    if (re.lastIndex === key.length) return parts;
  }
  throw new FormError(`Invalid parameter name: ${key}`, key);
}

type Node = { [key: string]: Node | string } | string;

export function parseForm(body: string): FormObject {
  const root: Record<string, Node> = {};
  const params = new URLSearchParams(body);
  for (const [key, value] of params) {
    const path = pathOf(key);
    let node: Record<string, Node> = root;
    path.forEach((raw, i) => {
      // `expand[]=a&expand[]=b`: each empty bracket appends.
      const part = raw === '' ? String(Object.keys(node).length) : raw;
      if (i === path.length - 1) {
        if (typeof node[part] === 'object') {
          throw new FormError(`Invalid parameter: ${key} mixes a value and nested keys`, key);
        }
        node[part] = value;
        return;
      }
      const next = node[part];
      if (typeof next === 'string') {
        throw new FormError(`Invalid parameter: ${key} mixes a value and nested keys`, key);
      }
      const child: Record<string, Node> = next ?? {};
      node[part] = child;
      node = child;
    });
  }
  return toValue(root) as FormObject;
}

function toValue(node: Node): FormValue {
  if (typeof node === 'string') return node;
  const keys = Object.keys(node);
  const isArray = keys.length > 0 && keys.every((k) => /^\d+$/.test(k));
  if (isArray) {
    return keys
      .map(Number)
      .sort((a, b) => a - b)
      .map((k) => toValue(node[String(k)]!));
  }
  const out: Record<string, FormValue> = {};
  for (const k of keys) out[k] = toValue(node[k]!);
  return out;
}

/** A stable text form of parsed parameters, for comparing idempotent requests. */
export function canonicalParams(value: FormValue): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalParams).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalParams(value[k]!)}`).join(',')}}`;
}

// ---------------------------------------------------------------------------------------------
// Typed readers: each throws a FormError naming the parameter, which becomes Stripe's
// invalid_request_error with `param`.

export function str(params: FormObject, key: string): string | undefined {
  const v = params[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new FormError(`Invalid string: ${key}`, key);
  return v;
}

export function requiredStr(params: FormObject, key: string): string {
  const v = str(params, key);
  if (v === undefined || v === '') throw new FormError(`Missing required param: ${key}.`, key);
  return v;
}

export function int(params: FormObject, key: string): number | undefined {
  const v = str(params, key);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw new FormError(`Invalid integer: ${v}`, key);
  }
  return Number(v);
}

export function bool(params: FormObject, key: string): boolean | undefined {
  const v = str(params, key);
  if (v === undefined) return undefined;
  if (v !== 'true' && v !== 'false') throw new FormError(`Invalid boolean: ${v}`, key);
  return v === 'true';
}

export function obj(params: FormObject, key: string): FormObject | undefined {
  const v = params[key];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new FormError(`Invalid object: ${key}`, key);
  return v;
}

export function strList(params: FormObject, key: string): string[] | undefined {
  const v = params[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw new FormError(`Invalid array: ${key}`, key);
  }
  return v as string[];
}

/** `metadata[k]=v` → a flat string map (Stripe limits: 50 keys, 40-char keys, 500-char values). */
export function metadata(params: FormObject, key = 'metadata'): Record<string, string> | undefined {
  const v = obj(params, key);
  if (!v) return undefined;
  const out: Record<string, string> = {};
  const entries = Object.entries(v);
  if (entries.length > 50) throw new FormError('Metadata can have at most 50 keys', key);
  for (const [k, value] of entries) {
    if (typeof value !== 'string') throw new FormError(`Invalid metadata value for ${k}`, `${key}[${k}]`);
    if (k.length > 40 || value.length > 500) {
      throw new FormError(`Metadata key or value too long: ${k}`, `${key}[${k}]`);
    }
    // An empty value unsets the key in Stripe; on create it simply is absent.
    if (value !== '') out[k] = value;
  }
  return out;
}
