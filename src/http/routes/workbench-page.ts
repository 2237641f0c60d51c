import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { brotliCompressSync, gzipSync, constants as zlib } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { packageRoot } from '../../paths.js';
import { PROBLEMS, ProblemError } from '../problems.js';

/**
 * The workbench page at /workbench: the static files `npm run build` puts in dist/web,
 * read into memory once (with their gzip and brotli forms) and served from there, so nothing
 * per request touches the disk and no path from a request ever names a file. The page itself
 * holds no data and needs no key; everything it shows comes from the API, with the key the
 * person types in.
 */

export interface WorkbenchPageOptions {
  /** The built files; default: dist/web in the package. */
  assetsDir?: string;
}

export const DEFAULT_WORKBENCH_DIR = path.join(packageRoot, 'dist', 'web');

interface Asset {
  type: string;
  /** Hashed file names never change content: cache them for good. The page is revalidated. */
  immutable: boolean;
  identity: Buffer;
  gzip?: Buffer;
  br?: Buffer;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.json', '.svg', '.txt']);

function readAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        const ext = path.extname(entry.name);
        const type = TYPES[ext];
        if (!type) continue;
        const rel = path.relative(dir, full).split(path.sep).join('/');
        const identity = readFileSync(full);
        const asset: Asset = { type, immutable: rel.startsWith('assets/'), identity };
        if (COMPRESSIBLE.has(ext) && identity.length > 1024) {
          asset.gzip = gzipSync(identity, { level: 9 });
          asset.br = brotliCompressSync(identity, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: identity.length } });
        }
        assets.set(rel, asset);
      }
    }
  };
  walk(dir);
  return assets;
}

function send(request: FastifyRequest, reply: FastifyReply, asset: Asset) {
  const accepts = String(request.headers['accept-encoding'] ?? '');
  void reply.header('content-type', asset.type).header('vary', 'accept-encoding');
  void reply.header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  if (asset.br && /\bbr\b/.test(accepts)) return reply.header('content-encoding', 'br').send(asset.br);
  if (asset.gzip && /\bgzip\b/.test(accepts)) return reply.header('content-encoding', 'gzip').send(asset.gzip);
  return reply.send(asset.identity);
}

async function workbenchPage(app: FastifyInstance, opts: WorkbenchPageOptions): Promise<void> {
  const dir = opts.assetsDir ?? DEFAULT_WORKBENCH_DIR;
  const assets = existsSync(path.join(dir, 'index.html')) ? readAssets(dir) : undefined;
  if (!assets) app.log.warn({ dir }, 'the workbench is not built (npm run build): /workbench answers 404');
  const config = { access: 'public' as const, rateLimit: false as const };
  const notBuilt = () => new ProblemError(PROBLEMS['not-found'], 'The workbench is not built in this installation: run "npm run build", then start the service again.');

  const page = async (request: FastifyRequest, reply: FastifyReply) => {
    const index = assets?.get('index.html');
    if (!index) throw notBuilt();
    return send(request, reply, index);
  };
  app.get('/workbench', { config, schema: { hide: true } }, page);
  app.get('/workbench/', { config, schema: { hide: true } }, page);
  app.get<{ Params: { '*': string } }>('/workbench/*', { config, schema: { hide: true } }, async (request, reply) => {
    if (!assets) throw notBuilt();
    const asset = assets.get(request.params['*']);
    if (!asset) throw new ProblemError(PROBLEMS['not-found'], `The workbench has no file "${request.params['*']}".`);
    return send(request, reply, asset);
  });
}

export default fp(workbenchPage, { name: 'workbench-page', fastify: '5.x', dependencies: ['problems'] });
