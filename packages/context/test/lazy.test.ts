// The optional backends are loaded only when their scheme is used. Checked on the BUILT
// package (run `npx tsup` first; turbo's test task builds it), the way an app meets it:
// a child process that runs an app, and a bundle an app would ship.
import { execFile } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const fixtures = join(packageDir, "test", "fixtures");
let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "kv-context-lazy-"));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Every module URL the ESM loader resolved, plus every file in require.cache (CJS). */
  loaded: string[];
}

let runs = 0;
function runApp(app: string, kvUrl: string, cwd = packageDir): Promise<Run> {
  const log = join(work, `modules-${runs++}.log`);
  writeFileSync(log, "");
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", join(fixtures, "record-modules.mjs"), app, kvUrl],
      { cwd, env: { ...process.env, KV_MODULE_LOG: log }, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : null;
        const loaded = readFileSync(log, "utf8").split("\n").filter(Boolean);
        if (app.endsWith(".cjs") && code === 0) loaded.push(...(JSON.parse(stdout) as string[]));
        resolve({ code, stdout, stderr, loaded });
      },
    );
  });
}

const heavy = (loaded: string[]) =>
  loaded.filter((m) => /ioredis|[\\/]redis[\\/]dist|lru-cache|[\\/]lru[\\/]dist/.test(m));

describe("a memory:// app loads neither @kv/redis nor ioredis nor @kv/lru", () => {
  for (const app of ["app.mjs", "app.cjs"]) {
    it(`through ${app.endsWith(".cjs") ? "require()" : "import"}`, async () => {
      const memory = await runApp(join(fixtures, app), "memory://");
      expect(memory.stderr).toBe("");
      expect(memory.code).toBe(0);
      expect(memory.loaded.some((m) => /[\\/]memory[\\/]dist/.test(m))).toBe(true);
      expect(heavy(memory.loaded)).toEqual([]);

      // The control: the same app on lru:// does load @kv/lru and lru-cache, so the
      // check above would see a backend that was loaded eagerly.
      const lru = await runApp(join(fixtures, app), "lru://?max=10");
      expect(lru.code).toBe(0);
      expect(heavy(lru.loaded).some((m) => m.includes("lru-cache"))).toBe(true);
    }, 30_000);
  }
});

describe("an app without the optional packages installed", () => {
  // A project whose node_modules holds @kv/context with only its regular dependencies.
  let project: string;
  beforeAll(() => {
    project = join(work, "project");
    const scope = join(project, "node_modules", "@kv");
    mkdirSync(join(scope, "context"), { recursive: true });
    cpSync(join(packageDir, "dist"), join(scope, "context", "dist"), { recursive: true });
    cpSync(join(packageDir, "package.json"), join(scope, "context", "package.json"));
    symlinkSync(join(packageDir, "..", "core"), join(scope, "core"), "dir");
    symlinkSync(join(packageDir, "..", "memory"), join(scope, "memory"), "dir");
    cpSync(join(fixtures, "app.mjs"), join(project, "app.mjs"));
    cpSync(join(fixtures, "app.cjs"), join(project, "app.cjs"));
  });

  it("runs memory://", async () => {
    const run = await runApp(join(project, "app.mjs"), "memory://", project);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
  }, 30_000);

  for (const [url, pkg] of [
    ["redis://:hunter2@127.0.0.1:6379", "@kv/redis"],
    ["redis-cluster://127.0.0.1:7000,127.0.0.1:7001", "@kv/redis"],
    ["lru://?max=10", "@kv/lru"],
  ] as const) {
    it(`fails on ${url.split(":")[0]}:// with the package to install`, async () => {
      for (const app of ["app.mjs", "app.cjs"]) {
        const run = await runApp(join(project, app), url, project);
        expect(run.code).not.toBe(0);
        expect(run.stderr).toContain(
          `URLs need the package ${pkg}, which is not installed: npm install ${pkg}`,
        );
        expect(run.stderr).toContain("KV_INVALID_ARGUMENT");
        expect(run.stderr).not.toContain("hunter2");
      }
    }, 30_000);
  }
});

/** The part of esbuild's API used here (esbuild is not a dependency of this package). */
interface Esbuild {
  build(
    options: Record<string, unknown>,
  ): Promise<{ metafile: { inputs: Record<string, unknown> } }>;
}

describe("a bundle of a memory:// app", () => {
  // esbuild is tsup's own bundler: resolved through tsup, a devDependency of this package.
  const esbuildFrom = createRequire(createRequire(import.meta.url).resolve("tsup"));
  const esbuild = esbuildFrom("esbuild") as Esbuild;

  async function bundle(source: string) {
    const outfile = join(work, `bundle-${runs++}.mjs`);
    const result = await esbuild.build({
      stdin: { contents: source, resolveDir: packageDir, loader: "js" },
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      outfile,
      metafile: true,
      logLevel: "silent",
      alias: { "@kv/context": join(packageDir, "dist", "index.js") },
    });
    return {
      inputs: Object.keys(result.metafile.inputs),
      outfile,
      text: readFileSync(outfile, "utf8"),
    };
  }

  it("contains no ioredis, no @kv/redis and no @kv/lru, and runs", async () => {
    const app = `
      import { createKV } from "@kv/context";
      const kv = await createKV("memory://");
      await kv.set("k", 1);
      if ((await kv.get("k")) !== 1) throw new Error("no value");
      await kv.close();
      console.log("bundled app ok");
    `;
    const { inputs, outfile, text } = await bundle(app);
    expect(inputs.some((m) => m.includes("memory/dist"))).toBe(true);
    expect(heavy(inputs)).toEqual([]);
    expect(text).not.toMatch(/ioredis/);
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [outfile], (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    expect(out).toBe("bundled app ok\n");
  }, 30_000);

  it("holds a backend package provided statically, which then runs without node_modules", async () => {
    const app = `
      import { createKV, provideBackendPackage } from "@kv/context";
      import * as lru from "@kv/lru";
      provideBackendPackage("@kv/lru", lru);
      const kv = await createKV("lru://?max=10");
      await kv.set("k", 1);
      if ((await kv.get("k")) !== 1) throw new Error("no value");
      await kv.close();
      console.log("bundled lru app ok");
    `;
    const { inputs, outfile } = await bundle(app);
    // The control for the test above: a bundle that uses lru-cache does show it.
    expect(heavy(inputs).some((m) => m.includes("lru-cache"))).toBe(true);
    // The bundle sits in a temp directory: no node_modules to import @kv/lru from.
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [outfile], { cwd: work }, (err, stdout) =>
        err ? reject(err) : resolve(stdout),
      ),
    );
    expect(out).toBe("bundled lru app ok\n");
  }, 30_000);
});
