// The XML-RPC codec and its XML reader: interoperability with Python's xmlrpc.client in both
// directions, and strictness (what a network-facing parser must refuse).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  parseMethodCall,
  parseMethodResponse,
  serializeFault,
  serializeMethodCall,
  serializeResponse,
  XmlRpcDateTime,
  XmlRpcFault,
  XmlRpcParseError,
  XmlRpcSerializeError,
} from '../../src-worker/lp-builder/xmlrpc';

function python(script: string, input = ''): string {
  return execFileSync('python3', ['-c', script], { input, encoding: 'utf8' });
}

const call = (params: string) => `<?xml version="1.0"?><methodCall><methodName>m</methodName><params>${params}</params></methodCall>`;
const param = (value: string) => `<param><value>${value}</value></param>`;
const parseOne = (value: string) => parseMethodCall(call(param(value))).params[0];

describe('Python -> us', () => {
  it('parses a methodCall made by xmlrpc.client.dumps with every value type', () => {
    const xml = python(`
import xmlrpc.client, sys, datetime
print(xmlrpc.client.dumps((
    "Hello <World> & 'you'", 42, -7, True, False, 2.5, None,
    xmlrpc.client.Binary(b"\\x00\\xffbin"), [1, ["nested"]], {"a": {"b": None}, "__proto__": "k"},
    datetime.datetime(2025, 4, 3, 12, 30, 5), "ünïcødé ✓", "",
), "build", allow_none=True), end="")
`);
    const { methodName, params } = parseMethodCall(xml);
    expect(methodName).toBe('build');
    expect(params.slice(0, 7)).toEqual(["Hello <World> & 'you'", 42, -7, true, false, 2.5, null]);
    expect(Buffer.from(params[7] as Uint8Array)).toEqual(Buffer.from([0, 0xff, 0x62, 0x69, 0x6e]));
    expect(params[8]).toEqual([1, ['nested']]);
    const struct = params[9] as Record<string, unknown>;
    expect(Object.keys(struct)).toEqual(['a', '__proto__']);
    expect(struct['__proto__']).toBe('k'); // a plain key, not the prototype
    expect(Object.getPrototypeOf(struct)).toBeNull();
    expect(params[10]).toEqual(new XmlRpcDateTime('20250403T12:30:05'));
    expect(params.slice(11)).toEqual(['ünïcødé ✓', '']);
  });

  it('parses an empty param list and a missing <params>', () => {
    expect(parseMethodCall(python('import xmlrpc.client; print(xmlrpc.client.dumps((), "status"), end="")'))).toEqual({ methodName: 'status', params: [] });
    expect(parseMethodCall('<methodCall><methodName>info</methodName></methodCall>').params).toEqual([]);
  });
});

describe('us -> Python', () => {
  it('a methodResponse loads in xmlrpc.client with the same values', () => {
    const xml = serializeResponse({
      s: 'a & b < c > d\r\nline',
      i: 2147483647,
      f: 0.25,
      b: false,
      n: null,
      bin: Buffer.from('logtail bytes'),
      arr: ['x', 1, [true]],
      d: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
    });
    const out = python(
      `
import sys, json, xmlrpc.client
(v,), m = xmlrpc.client.loads(sys.stdin.read())
v["bin"] = [type(v["bin"]).__name__, v["bin"].data.decode()]
v["d"] = v["d"].value
print(json.dumps(v))
`,
      xml,
    );
    expect(JSON.parse(out)).toEqual({
      s: 'a & b < c > d\r\nline',
      i: 2147483647,
      f: 0.25,
      b: false,
      n: null,
      bin: ['Binary', 'logtail bytes'],
      arr: ['x', 1, [true]],
      d: '20240102T03:04:05',
    });
  });

  it('a fault loads as xmlrpc.client.Fault with code and string', () => {
    const out = python(
      `
import sys, xmlrpc.client
try:
    xmlrpc.client.loads(sys.stdin.read())
except xmlrpc.client.Fault as f:
    print(f.faultCode, f.faultString)
`,
      serializeFault(8001, 'procedure <x> not found'),
    );
    expect(out.trim()).toBe('8001 procedure <x> not found');
  });
});

describe('client side (for scanners of builders)', () => {
  it('serializeMethodCall / parseMethodResponse round-trip, faults become XmlRpcFault', () => {
    expect(parseMethodCall(serializeMethodCall('ensurepresent', ['abc', null, '', '']))).toEqual({ methodName: 'ensurepresent', params: ['abc', null, '', ''] });
    expect(parseMethodResponse(serializeResponse([true, 'Download']))).toEqual([true, 'Download']);
    expect(() => parseMethodResponse(serializeFault(8002, 'error'))).toThrow(XmlRpcFault);
    try {
      parseMethodResponse(serializeFault(8002, 'error'));
    } catch (e) {
      expect((e as XmlRpcFault).faultCode).toBe(8002);
    }
  });
});

describe('value details', () => {
  it('a <value> without a type element is a string, whitespace kept', () => {
    expect(parseOne('  two words  ')).toBe('  two words  ');
    expect(parseOne('')).toBe('');
    expect(parseOne('<string/>')).toBe('');
    expect(parseMethodCall(call('<param><value/></param>')).params).toEqual(['']);
  });

  it('accepts i4/i8, <ex:nil/>, CDATA, character references and a Latin-1 declaration', () => {
    expect(parseOne('<i4> 12 </i4>')).toBe(12);
    expect(parseOne('<i8>-4294967296</i8>')).toBe(-4294967296);
    expect(parseOne('<ex:nil/>')).toBeNull();
    expect(parseOne('<string><![CDATA[<raw> & stuff]]></string>')).toBe('<raw> & stuff');
    expect(parseOne('<string>&#x41;&#66;&#13;&lt;&amp;&gt;&quot;&apos;</string>')).toBe('AB\r<&>"\'');
    const latin1 = Buffer.concat([Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?>'), Buffer.from(call(param('<string>caf\xe9</string>')).replace(/^<\?xml[^>]*>/, ''), 'latin1')]);
    expect(parseMethodCall(latin1).params).toEqual(['café']);
  });

  it('normalises CR LF in raw text to LF (as every XML parser must)', () => {
    expect(parseOne('<string>a\r\nb\rc</string>')).toBe('a\nb\nc');
  });

  it('escapes strings and round-trips them through our own parser', () => {
    const s = 'x <y> & "z" \'w\' ]]> \r\n end';
    const xml = serializeMethodCall('echo', [s]);
    expect(parseMethodCall(xml).params).toEqual([s]);
  });
});

describe('strictness', () => {
  const bad: [string, string][] = [
    ['a DTD', '<?xml version="1.0"?><!DOCTYPE methodCall [<!ENTITY x "y">]><methodCall><methodName>m</methodName></methodCall>'],
    ['an unknown entity', call(param('<string>&foo;</string>'))],
    ['a bare ampersand', call(param('<string>a & b</string>'))],
    ['mismatched tags', call(param('<string>a</int>'))],
    ['an unclosed document', '<methodCall><methodName>m</methodName>'],
    ['content after the root', `${call('')}<x/>`],
    ['an unknown type', call(param('<float>1</float>'))],
    ['two type elements', call(param('<int>1</int><int>2</int>'))],
    ['text beside a type element', call(param('x<int>1</int>'))],
    ['a bad int', call(param('<int>1.5</int>'))],
    ['a huge int', call(param('<int>99999999999999999999</int>'))],
    ['a bad boolean', call(param('<boolean>true</boolean>'))],
    ['a bad double', call(param('<double>abc</double>'))],
    ['bad base64', call(param('<base64>!!!</base64>'))],
    ['text inside a struct', call(param('<struct>oops<member><name>a</name><value>1</value></member></struct>'))],
    ['a member without a value', call(param('<struct><member><name>a</name></member></struct>'))],
    ['an array without data', call(param('<array><value>1</value></array>'))],
    ['a control character', call(param('<string>\u0001</string>'))],
    ['a character reference to NUL', call(param('<string>&#0;</string>'))],
    ['an empty method name', '<methodCall><methodName> </methodName></methodCall>'],
    ['a wrong root', '<methodResponse><params/></methodResponse>'],
    ['invalid UTF-8', Buffer.concat([Buffer.from('<methodCall><methodName>'), Buffer.from([0xff, 0xfe]), Buffer.from('</methodName></methodCall>')]) as unknown as string],
  ];
  for (const [what, doc] of bad) {
    it(`refuses ${what}`, () => {
      expect(() => parseMethodCall(doc)).toThrow(XmlRpcParseError);
    });
  }

  it('refuses deep nesting instead of overflowing the stack', () => {
    const deep = '<array><data><value>'.repeat(5000) + '1' + '</value></data></array>'.repeat(5000);
    expect(() => parseOne(deep)).toThrow(XmlRpcParseError);
  });

  it('will not serialise what XML-RPC cannot carry', () => {
    expect(() => serializeResponse(2 ** 31)).toThrow(XmlRpcSerializeError);
    expect(() => serializeResponse(Number.NaN)).toThrow(XmlRpcSerializeError);
    expect(() => serializeResponse('nul \u0000 byte')).toThrow(XmlRpcSerializeError);
    expect(() => serializeResponse(new Map())).toThrow(XmlRpcSerializeError);
    const loop: unknown[] = [];
    loop.push(loop);
    expect(() => serializeResponse(loop)).toThrow(XmlRpcSerializeError);
    // A fault string is made safe rather than refused.
    expect(serializeFault(8002, 'bad \u0000 char')).toContain('bad ? char');
  });
});
