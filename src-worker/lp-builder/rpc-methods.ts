// The XML-RPC method table: argument counts and types checked here (Python raised TypeError,
// which Twisted sent as fault 8002), then handed to the builder.
import type { LpBuilder } from './builder';
import { BuilderRefusal } from './errors';
import type { XmlRpcStruct, XmlRpcValue } from './xmlrpc';

type Handler = (params: XmlRpcValue[]) => XmlRpcValue | Promise<XmlRpcValue>;

function arity(method: string, params: XmlRpcValue[], n: number): void {
  if (params.length !== n) throw new BuilderRefusal(`${method}() takes ${n} argument${n === 1 ? '' : 's'} (${params.length} given)`);
}

function isStruct(v: XmlRpcValue): v is XmlRpcStruct {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) && Object.getPrototypeOf(v) === null;
}

function str(method: string, what: string, v: XmlRpcValue): string {
  if (typeof v !== 'string') throw new BuilderRefusal(`${method}: ${what} must be a string`);
  return v;
}

function strOrNil(method: string, what: string, v: XmlRpcValue): string | null {
  return v === null ? null : str(method, what, v);
}

export function builderMethods(builder: LpBuilder): Map<string, Handler> {
  return new Map<string, Handler>([
    ['echo', (p) => builder.echo(...p)],
    [
      'info',
      (p) => {
        arity('info', p, 0);
        return builder.info();
      },
    ],
    [
      'status',
      (p) => {
        arity('status', p, 0);
        return builder.status();
      },
    ],
    [
      'ensurepresent',
      (p) => {
        arity('ensurepresent', p, 4);
        const [sha1sum, url, username, password] = p as [XmlRpcValue, XmlRpcValue, XmlRpcValue, XmlRpcValue];
        return builder.ensurepresent(
          str('ensurepresent', 'sha1sum', sha1sum),
          strOrNil('ensurepresent', 'url', url),
          strOrNil('ensurepresent', 'username', username),
          strOrNil('ensurepresent', 'password', password),
        );
      },
    ],
    [
      'build',
      (p) => {
        arity('build', p, 5);
        const [buildid, managertag, chrootsum, filemap, args] = p as [XmlRpcValue, XmlRpcValue, XmlRpcValue, XmlRpcValue, XmlRpcValue];
        if (buildid !== null && typeof buildid !== 'string') throw new BuilderRefusal('build: buildid must be a string');
        if (!isStruct(filemap) || !Object.values(filemap).every((v) => typeof v === 'string')) {
          throw new BuilderRefusal('build: filemap must be a struct of {file name: cache name} strings');
        }
        if (!isStruct(args)) throw new BuilderRefusal('build: args must be a struct');
        return builder.build(buildid ?? '', str('build', 'managertag', managertag), str('build', 'chrootsum', chrootsum), filemap as Record<string, string>, args);
      },
    ],
    [
      'abort',
      (p) => {
        arity('abort', p, 0);
        return builder.abort();
      },
    ],
    [
      'clean',
      (p) => {
        arity('clean', p, 0);
        return builder.clean();
      },
    ],
    [
      'proxy_info',
      (p) => {
        arity('proxy_info', p, 0);
        return builder.proxyInfo();
      },
    ],
  ]);
}
