import { readFileSync } from "node:fs";
import { join } from "node:path";
import { defineConfig } from "tsup";

/**
 * The one build of every published package (`tsup --config ../../tsup.config.ts`, run in
 * the package's folder). The entries come from the package's own `exports` map, so the
 * map is the single list of what a package ships: `./dist/adapter/index.js` is built
 * from `src/adapter/index.ts`.
 */
function entriesOf(dir: string): string[] {
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
    exports: Record<string, string | { import?: { default?: string } }>;
  };
  const entries: string[] = [];
  for (const target of Object.values(pkg.exports)) {
    const file = typeof target === "string" ? target : target.import?.default;
    if (file === undefined || !file.startsWith("./dist/")) continue;
    entries.push(file.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts"));
  }
  return entries;
}

export default defineConfig({
  entry: entriesOf(process.cwd()),
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  // Source maps with their sources inside: a stack frame points at code the package ships.
  sourcemap: true,
  target: "node20",
});
