// A tiny, strict XML reader: just enough for XML-RPC documents, with no dependency.
// It builds a small element tree. It refuses DTDs (no entity expansion, so no "billion laughs"
// or external entities), caps nesting depth, and rejects anything that is not well-formed,
// because a lenient parser on a network-facing port is a liability.

export interface XmlElement {
  name: string;
  /** Child elements and text runs, in document order (adjacent text is merged). */
  children: XmlNode[];
}
export type XmlNode = XmlElement | string;

export class XmlSyntaxError extends Error {
  override name = 'XmlSyntaxError';
}

const MAX_DEPTH = 200;
const NAME_RE = /[A-Za-z_:][A-Za-z0-9_:.-]*/y;
// XML 1.0 Char production minus the characters we normalise away: tab, LF, CR and printable ranges.
const INVALID_CHAR_RE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes the bytes of a document: UTF-8 unless the declaration names Latin-1 or ASCII. */
export function decodeXmlBytes(bytes: Uint8Array): string {
  const head = Buffer.from(bytes.subarray(0, 200)).toString('latin1');
  const decl = /^(?:\uFEFF|\xEF\xBB\xBF)?<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head);
  const enc = (decl?.[1] ?? 'utf-8').toLowerCase();
  if (enc === 'iso-8859-1' || enc === 'latin-1' || enc === 'latin1') return Buffer.from(bytes).toString('latin1');
  if (enc !== 'utf-8' && enc !== 'utf8' && enc !== 'us-ascii' && enc !== 'ascii') {
    throw new XmlSyntaxError(`unsupported encoding ${enc}`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new XmlSyntaxError('document is not valid UTF-8');
  }
}

/** Parses a whole document and returns its root element. */
export function parseXml(input: string): XmlElement {
  // XML 1.0 §2.11: line ends are normalised to LF before parsing (character references survive).
  const src = input.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const bad = INVALID_CHAR_RE.exec(src);
  if (bad) throw new XmlSyntaxError(`invalid character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')}`);
  let pos = 0;

  const fail = (msg: string): never => {
    throw new XmlSyntaxError(`${msg} at offset ${pos}`);
  };

  const skipSpace = () => {
    while (pos < src.length && (src[pos] === ' ' || src[pos] === '\t' || src[pos] === '\n')) pos++;
  };

  const readName = (): string => {
    NAME_RE.lastIndex = pos;
    const m = NAME_RE.exec(src);
    if (!m) return fail('expected a name');
    pos += m[0].length;
    return m[0];
  };

  // Comments, processing instructions; refuses DOCTYPE. Returns true if something was skipped.
  const skipMisc = (): boolean => {
    if (src.startsWith('<!--', pos)) {
      const end = src.indexOf('-->', pos + 4);
      if (end < 0) fail('unterminated comment');
      pos = end + 3;
      return true;
    }
    if (src.startsWith('<?', pos)) {
      const end = src.indexOf('?>', pos + 2);
      if (end < 0) fail('unterminated processing instruction');
      pos = end + 2;
      return true;
    }
    if (src.startsWith('<!DOCTYPE', pos) || src.startsWith('<!ENTITY', pos)) fail('DTDs are not accepted');
    return false;
  };

  const decodeEntities = (text: string): string => {
    if (!text.includes('&')) return text;
    return text.replace(/&([^;&]*);|&/g, (whole, ref: string | undefined) => {
      if (ref === undefined) return fail('bare "&" in text');
      if (ref.startsWith('#x')) return codePoint(ref.slice(2), 16);
      if (ref.startsWith('#')) return codePoint(ref.slice(1), 10);
      const ch = PREDEFINED[ref];
      if (ch === undefined) return fail(`unknown entity &${ref};`);
      return ch;
    });
  };

  const codePoint = (digits: string, radix: number): string => {
    const valid = radix === 16 ? /^[0-9A-Fa-f]{1,6}$/ : /^[0-9]{1,7}$/;
    if (!valid.test(digits)) return fail('bad character reference');
    const cp = parseInt(digits, radix);
    const ok = cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
    if (!ok) return fail('character reference to an invalid character');
    return String.fromCodePoint(cp);
  };

  // Reads attributes up to ">" or "/>"; their values are checked for well-formedness and dropped
  // (XML-RPC has no attributes). Returns true for a self-closing tag.
  const readAttributesAndClose = (): boolean => {
    const seen = new Set<string>();
    for (;;) {
      const hadSpace = pos < src.length && /[ \t\n]/.test(src[pos]!);
      skipSpace();
      if (src.startsWith('/>', pos)) {
        pos += 2;
        return true;
      }
      if (src[pos] === '>') {
        pos += 1;
        return false;
      }
      if (!hadSpace) fail('expected whitespace before attribute');
      const attr = readName();
      if (seen.has(attr)) fail(`duplicate attribute ${attr}`);
      seen.add(attr);
      skipSpace();
      if (src[pos] !== '=') fail('expected "="');
      pos++;
      skipSpace();
      const q = src[pos];
      if (q !== '"' && q !== "'") return fail('expected a quoted attribute value');
      const end = src.indexOf(q, pos + 1);
      if (end < 0) fail('unterminated attribute value');
      const raw = src.slice(pos + 1, end);
      if (raw.includes('<')) fail('"<" in attribute value');
      decodeEntities(raw);
      pos = end + 1;
    }
  };

  const readElement = (depth: number): XmlElement => {
    if (depth > MAX_DEPTH) fail('document nested too deeply');
    if (src[pos] !== '<') fail('expected "<"');
    pos++;
    const name = readName();
    const el: XmlElement = { name, children: [] };
    if (readAttributesAndClose()) return el;
    let text = '';
    const flushText = () => {
      if (text) el.children.push(text);
      text = '';
    };
    for (;;) {
      if (pos >= src.length) fail(`unclosed element <${name}>`);
      const lt = src.indexOf('<', pos);
      if (lt < 0) fail(`unclosed element <${name}>`);
      if (lt > pos) {
        const raw = src.slice(pos, lt);
        if (raw.includes(']]>')) fail('"]]>" in text');
        text += decodeEntities(raw);
        pos = lt;
      }
      if (src.startsWith('</', pos)) {
        pos += 2;
        const closing = readName();
        if (closing !== name) fail(`</${closing}> does not close <${name}>`);
        skipSpace();
        if (src[pos] !== '>') fail('expected ">"');
        pos++;
        flushText();
        return el;
      }
      if (src.startsWith('<![CDATA[', pos)) {
        const end = src.indexOf(']]>', pos + 9);
        if (end < 0) fail('unterminated CDATA section');
        text += src.slice(pos + 9, end);
        pos = end + 3;
        continue;
      }
      if (skipMisc()) continue;
      flushText();
      el.children.push(readElement(depth + 1));
    }
  };

  // Prolog: declaration, comments, PIs and whitespace.
  for (;;) {
    skipSpace();
    if (!skipMisc()) break;
  }
  if (pos >= src.length) fail('no root element');
  const root = readElement(0);
  for (;;) {
    skipSpace();
    if (pos >= src.length) break;
    if (!skipMisc()) fail('content after the root element');
  }
  return root;
}

/** The child elements of an element; fails if it holds non-blank text (a container must not). */
export function elementChildren(el: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of el.children) {
    if (typeof c === 'string') {
      if (c.trim() !== '') throw new XmlSyntaxError(`unexpected text inside <${el.name}>`);
    } else out.push(c);
  }
  return out;
}

/** The text of an element that may only contain text. */
export function elementText(el: XmlElement): string {
  let s = '';
  for (const c of el.children) {
    if (typeof c !== 'string') throw new XmlSyntaxError(`unexpected <${c.name}> inside <${el.name}>`);
    s += c;
  }
  return s;
}
