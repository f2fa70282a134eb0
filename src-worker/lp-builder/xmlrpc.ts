// XML-RPC codec (both directions), strict about what it accepts.
// Value mapping:  int/i4/i8 <-> number (integral), double -> number, boolean <-> boolean,
// string (or a <value> with no type element) <-> string, base64 <-> Uint8Array (Buffer),
// dateTime.iso8601 <-> XmlRpcDateTime (a Date is also accepted when serialising),
// array <-> Array, struct <-> plain object (null prototype, so "__proto__" is just a key),
// nil <-> null (undefined serialises as nil too).
// Note: a parsed <double> with an integral value becomes a plain number and is sent back as <int>;
// Python compares the two as equal, and no builder method depends on the difference.
import { decodeXmlBytes, elementChildren, elementText, parseXml, XmlSyntaxError, type XmlElement } from './xml';

export type XmlRpcValue =
  | string
  | number
  | boolean
  | null
  | Uint8Array
  | XmlRpcDateTime
  | XmlRpcValue[]
  | XmlRpcStruct;
export interface XmlRpcStruct {
  [key: string]: XmlRpcValue;
}

/** dateTime.iso8601 kept as its wire text: XML-RPC carries no time zone, so a Date would invent one. */
export class XmlRpcDateTime {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** A fault as the server sends it (faultCode, faultString). */
export class XmlRpcFault extends Error {
  override name = 'XmlRpcFault';
  constructor(
    readonly faultCode: number,
    readonly faultString: string,
  ) {
    super(`<Fault ${faultCode}: ${faultString}>`);
  }
}

/** The document is not a valid XML-RPC message. */
export class XmlRpcParseError extends Error {
  override name = 'XmlRpcParseError';
}

export interface MethodCall {
  methodName: string;
  params: XmlRpcValue[];
}

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;

// ---------------------------------------------------------------- parsing

function rootOf(body: string | Uint8Array): XmlElement {
  return parseXml(typeof body === 'string' ? body : decodeXmlBytes(body));
}

/** Parses an XML-RPC methodCall document. */
export function parseMethodCall(body: string | Uint8Array): MethodCall {
  return wrapSyntax(() => {
    const root = rootOf(body);
    if (root.name !== 'methodCall') throw new XmlRpcParseError(`expected <methodCall>, got <${root.name}>`);
    const kids = elementChildren(root);
    const nameEl = kids[0];
    if (!nameEl || nameEl.name !== 'methodName') throw new XmlRpcParseError('missing <methodName>');
    const methodName = elementText(nameEl).trim();
    if (!methodName) throw new XmlRpcParseError('empty <methodName>');
    if (kids.length > 2) throw new XmlRpcParseError('unexpected elements in <methodCall>');
    const paramsEl = kids[1];
    if (paramsEl && paramsEl.name !== 'params') throw new XmlRpcParseError(`unexpected <${paramsEl.name}> in <methodCall>`);
    return { methodName, params: paramsEl ? parseParams(paramsEl) : [] };
  });
}

/** Parses a methodResponse; returns the value or throws XmlRpcFault. */
export function parseMethodResponse(body: string | Uint8Array): XmlRpcValue {
  const result = wrapSyntax(() => {
    const root = rootOf(body);
    if (root.name !== 'methodResponse') throw new XmlRpcParseError(`expected <methodResponse>, got <${root.name}>`);
    const kids = elementChildren(root);
    if (kids.length !== 1) throw new XmlRpcParseError('<methodResponse> must hold one <params> or <fault>');
    const only = kids[0]!;
    if (only.name === 'params') {
      const params = parseParams(only);
      if (params.length !== 1) throw new XmlRpcParseError('a response carries exactly one value');
      return { value: params[0]! };
    }
    if (only.name === 'fault') {
      const [v, ...rest] = elementChildren(only);
      if (!v || rest.length || v.name !== 'value') throw new XmlRpcParseError('<fault> must hold one <value>');
      const f = parseValue(v);
      if (!isStruct(f) || typeof f.faultCode !== 'number' || typeof f.faultString !== 'string') {
        throw new XmlRpcParseError('malformed fault struct');
      }
      return { fault: new XmlRpcFault(f.faultCode, f.faultString) };
    }
    throw new XmlRpcParseError(`unexpected <${only.name}> in <methodResponse>`);
  });
  if ('fault' in result) throw result.fault;
  return result.value;
}

/** XML-level errors surface as XmlRpcParseError, the one error type callers handle. */
function wrapSyntax<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof XmlSyntaxError) throw new XmlRpcParseError(e.message);
    throw e;
  }
}

function parseParams(el: XmlElement): XmlRpcValue[] {
  return elementChildren(el).map((p) => {
    if (p.name !== 'param') throw new XmlRpcParseError(`unexpected <${p.name}> in <params>`);
    const [v, ...rest] = elementChildren(p);
    if (!v || rest.length || v.name !== 'value') throw new XmlRpcParseError('<param> must hold one <value>');
    return parseValue(v);
  });
}

// Python's unmarshaller ignores namespace prefixes (so <ex:nil/> is nil); so do we.
const localName = (name: string) => name.slice(name.lastIndexOf(':') + 1);

function parseValue(valueEl: XmlElement): XmlRpcValue {
  const typed = valueEl.children.filter((c): c is XmlElement => typeof c !== 'string');
  if (typed.length === 0) return elementText(valueEl); // no type element: a string, whitespace kept
  if (typed.length > 1) throw new XmlRpcParseError('<value> holds more than one type element');
  elementChildren(valueEl); // text beside the type element must be blank
  const t = typed[0]!;
  const type = localName(t.name);
  switch (type) {
    case 'string':
      return elementText(t);
    case 'int':
    case 'i4':
    case 'i8': {
      const s = elementText(t).trim();
      if (!/^[+-]?[0-9]+$/.test(s)) throw new XmlRpcParseError(`bad integer ${JSON.stringify(s)}`);
      const n = Number(s);
      if (!Number.isSafeInteger(n)) throw new XmlRpcParseError(`integer out of range: ${s}`);
      return n;
    }
    case 'boolean': {
      const s = elementText(t).trim();
      if (s === '1') return true;
      if (s === '0') return false;
      throw new XmlRpcParseError(`bad boolean ${JSON.stringify(s)}`);
    }
    case 'double': {
      const s = elementText(t).trim();
      if (!/^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(s)) {
        throw new XmlRpcParseError(`bad double ${JSON.stringify(s)}`);
      }
      return Number(s);
    }
    case 'base64': {
      const s = elementText(t).replace(/\s+/g, '');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) throw new XmlRpcParseError('bad base64');
      return Buffer.from(s, 'base64');
    }
    case 'dateTime.iso8601': {
      const s = elementText(t).trim();
      if (!/^\d{4}-?\d{2}-?\d{2}T\d{2}:?\d{2}:?\d{2}/.test(s)) throw new XmlRpcParseError(`bad dateTime ${JSON.stringify(s)}`);
      return new XmlRpcDateTime(s);
    }
    case 'nil':
      if (t.children.length) throw new XmlRpcParseError('<nil/> must be empty');
      return null;
    case 'array': {
      const [data, ...rest] = elementChildren(t);
      if (!data || rest.length || data.name !== 'data') throw new XmlRpcParseError('<array> must hold one <data>');
      return elementChildren(data).map((v) => {
        if (v.name !== 'value') throw new XmlRpcParseError(`unexpected <${v.name}> in <data>`);
        return parseValue(v);
      });
    }
    case 'struct': {
      const out: XmlRpcStruct = Object.create(null);
      for (const m of elementChildren(t)) {
        if (m.name !== 'member') throw new XmlRpcParseError(`unexpected <${m.name}> in <struct>`);
        const parts = elementChildren(m);
        const nameEl = parts.find((p) => p.name === 'name');
        const valEl = parts.find((p) => p.name === 'value');
        if (parts.length !== 2 || !nameEl || !valEl) throw new XmlRpcParseError('<member> needs one <name> and one <value>');
        out[elementText(nameEl)] = parseValue(valEl);
      }
      return out;
    }
    default:
      throw new XmlRpcParseError(`unknown value type <${t.name}>`);
  }
}

function isStruct(v: XmlRpcValue): v is XmlRpcStruct {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof XmlRpcDateTime);
}

// ---------------------------------------------------------------- serialising

/** A value that cannot be written as XML-RPC (Twisted answers these with fault 8002). */
export class XmlRpcSerializeError extends Error {
  override name = 'XmlRpcSerializeError';
}

// Characters XML 1.0 cannot carry at all, even as references.
const UNREPRESENTABLE_RE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Escapes text for element content. CR is written as a reference so that it survives parsing. */
export function escapeXmlText(s: string): string {
  if (UNREPRESENTABLE_RE.test(s)) throw new XmlRpcSerializeError('string holds a character XML cannot carry');
  return s.replace(/[&<>\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#13;'));
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function serializeValue(v: unknown, out: string[], seen: Set<object>): void {
  if (v === null || v === undefined) {
    out.push('<value><nil/></value>');
  } else if (typeof v === 'string') {
    out.push('<value><string>', escapeXmlText(v), '</string></value>');
  } else if (typeof v === 'boolean') {
    out.push('<value><boolean>', v ? '1' : '0', '</boolean></value>');
  } else if (typeof v === 'number') {
    if (Number.isInteger(v)) {
      if (v < INT_MIN || v > INT_MAX) throw new XmlRpcSerializeError('int exceeds XML-RPC limits');
      out.push('<value><int>', String(v), '</int></value>');
    } else if (Number.isFinite(v)) {
      out.push('<value><double>', String(v), '</double></value>');
    } else {
      throw new XmlRpcSerializeError('cannot serialise a non-finite double');
    }
  } else if (v instanceof Uint8Array) {
    out.push('<value><base64>', Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'), '</base64></value>');
  } else if (v instanceof XmlRpcDateTime) {
    out.push('<value><dateTime.iso8601>', escapeXmlText(v.value), '</dateTime.iso8601></value>');
  } else if (v instanceof Date) {
    const d = `${v.getUTCFullYear()}${pad(v.getUTCMonth() + 1)}${pad(v.getUTCDate())}T${pad(v.getUTCHours())}:${pad(v.getUTCMinutes())}:${pad(v.getUTCSeconds())}`;
    out.push('<value><dateTime.iso8601>', d, '</dateTime.iso8601></value>');
  } else if (Array.isArray(v)) {
    if (seen.has(v)) throw new XmlRpcSerializeError('cannot serialise a recursive structure');
    seen.add(v);
    out.push('<value><array><data>');
    for (const item of v) serializeValue(item, out, seen);
    out.push('</data></array></value>');
    seen.delete(v);
  } else if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) throw new XmlRpcSerializeError(`cannot serialise ${proto?.constructor?.name ?? 'object'}`);
    if (seen.has(v)) throw new XmlRpcSerializeError('cannot serialise a recursive structure');
    seen.add(v);
    out.push('<value><struct>');
    for (const [k, item] of Object.entries(v)) {
      if (item === undefined) continue; // an absent optional key, not a nil
      out.push('<member><name>', escapeXmlText(k), '</name>');
      serializeValue(item, out, seen);
      out.push('</member>');
    }
    out.push('</struct></value>');
    seen.delete(v);
  } else {
    throw new XmlRpcSerializeError(`cannot serialise a ${typeof v}`);
  }
}

const HEADER = "<?xml version='1.0'?>\n";

/** A methodResponse carrying one value. Throws XmlRpcSerializeError if the value cannot be written. */
export function serializeResponse(value: unknown): string {
  const out: string[] = [HEADER, '<methodResponse><params><param>'];
  serializeValue(value, out, new Set());
  out.push('</param></params></methodResponse>\n');
  return out.join('');
}

/** A methodResponse carrying a fault. */
export function serializeFault(faultCode: number, faultString: string): string {
  const safe = faultString.replace(new RegExp(UNREPRESENTABLE_RE.source, 'g'), '?');
  const out: string[] = [HEADER, '<methodResponse><fault>'];
  serializeValue({ faultCode, faultString: safe }, out, new Set());
  out.push('</fault></methodResponse>\n');
  return out.join('');
}

/** A methodCall document (for clients of builders, and for tests). */
export function serializeMethodCall(methodName: string, params: readonly unknown[]): string {
  if (!/^[A-Za-z0-9_.:/]+$/.test(methodName)) throw new XmlRpcSerializeError(`bad method name ${JSON.stringify(methodName)}`);
  const out: string[] = [HEADER, '<methodCall><methodName>', methodName, '</methodName><params>'];
  for (const p of params) {
    out.push('<param>');
    serializeValue(p, out, new Set());
    out.push('</param>');
  }
  out.push('</params></methodCall>\n');
  return out.join('');
}
