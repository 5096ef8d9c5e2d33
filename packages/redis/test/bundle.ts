import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "tsup";

const root = fileURLToPath(new URL("..", import.meta.url));

/**
 * A bundle of src/ for worker processes: plain Node imports it (no dist needed, no
 * TypeScript loader). Kept inside the package so that it resolves ioredis and @kv/core
 * from the package's node_modules. Returns its file URL and a cleanup.
 */
export async function buildBundle(label: string): Promise<{ url: string; remove: () => void }> {
  const outDir = mkdtempSync(join(root, "node_modules", `.${label}-`));
  await build({
    entry: { backend: join(root, "src/index.ts") },
    format: ["esm"],
    outDir,
    dts: false,
    silent: true,
    config: false,
    target: "node20",
  });
  return {
    url: pathToFileURL(join(outDir, "backend.js")).href,
    remove: () => rmSync(outDir, { recursive: true, force: true }),
  };
}

export const packageRoot = root;
