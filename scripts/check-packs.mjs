#!/usr/bin/env node
// Packs every public package the way `pnpm publish` would (workspace: ranges rewritten),
// installs the tarballs into an empty npm project, and uses each one through both
// `import` and `require`: what a user gets from npm, not what the workspace links.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const packagesDir = join(root, "packages");
const work = mkdtempSync(join(tmpdir(), "kv-packs-"));
const tarballs = join(work, "tarballs");
const app = join(work, "app");
mkdirSync(tarballs);
mkdirSync(app);

const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, stdio: ["ignore", "pipe", "inherit"] }).toString();

try {
  const names = [];
  for (const dir of readdirSync(packagesDir)) {
    const manifest = JSON.parse(readFileSync(join(packagesDir, dir, "package.json"), "utf8"));
    if (manifest.private) continue;
    run(
      "npx",
      ["-y", "pnpm@12.4.2", "pack", "--pack-destination", tarballs],
      join(packagesDir, dir),
    );
    names.push(manifest.name);
  }
  writeFileSync(
    join(app, "package.json"),
    JSON.stringify({ name: "kv-pack-check", private: true }),
  );
  const files = readdirSync(tarballs).map((f) => join(tarballs, f));
  run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...files], app);

  // Each package through both module systems, doing real work where it can run alone.
  const use = {
    "@kv/core":
      "const { namespaced, KVError, isKVError } = m; if (!isKVError(new KVError('KV_CLOSED', 'x'), 'KV_CLOSED')) throw new Error('isKVError');",
    "@kv/memory":
      "const kv = new m.MemoryBackend(); await kv.set('a', { n: 1 }, { ttlSeconds: 60 }); if ((await kv.get('a')).n !== 1) throw new Error('get'); await kv.close();",
    "@kv/lru": "if (typeof m.LruBackend !== 'function') throw new Error('LruBackend');",
    "@kv/redis": "if (typeof m.RedisBackend !== 'function') throw new Error('RedisBackend');",
    "@kv/context":
      "const kv = await m.createKV('memory://'); await kv.set('a', 1); if ((await kv.get('a')) !== 1) throw new Error('get'); await kv.close(); const lru = await m.createKV('lru://?max=10'); await lru.set('b', 2); if ((await lru.get('b')) !== 2) throw new Error('lru'); await lru.close();",
  };
  for (const name of names) {
    const body = use[name] ?? "";
    writeFileSync(
      join(app, "esm.mjs"),
      `import * as m from "${name}";\n${body}\nconsole.log("import  ${name}: ok");\n`,
    );
    writeFileSync(
      join(app, "cjs.cjs"),
      `const m = require("${name}");\n(async () => { ${body} })().then(() => console.log("require ${name}: ok"), (e) => { console.error(e); process.exit(1); });\n`,
    );
    process.stdout.write(run("node", ["esm.mjs"], app));
    process.stdout.write(run("node", ["cjs.cjs"], app));
  }
  // The conformance subpath must resolve for a stranger's adapter (vitest is a peer: not run here).
  writeFileSync(
    join(app, "sub.mjs"),
    `console.log("resolve @kv/core/conformance:", import.meta.resolve("@kv/core/conformance") ? "ok" : "missing");\n`,
  );
  process.stdout.write(run("node", ["sub.mjs"], app));
  console.log(`${names.length} packages packed, installed and loaded through import and require`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
