import type { KVContext } from "@kv/context";
import type { Report } from "../report.js";

interface FileRef {
  id: string;
  filename: string;
  url: string;
}

/** Reference example 1: an adapter pushes uploads into an inbox; the agent consumes them later. */
export async function channelInbox(context: KVContext, report: Report): Promise<void> {
  report.section("1) Channel inbox: listAppendUnique (ttl 3600 s) + listPopAll");
  const kv = context.kv();
  const inbox = `inbox:channel-${context.runId}`;
  const upload = (id: string, filename: string): FileRef => ({
    id,
    filename,
    url: `https://files.example/${id}`,
  });

  report.step(`the adapter pushes two uploads into ${inbox}`);
  await kv.listAppendUnique(inbox, [upload("f1", "report.pdf"), upload("f2", "chart.png")], {
    ttlSeconds: 3600,
  });
  report.step("the same upload arrives a second time (a retried webhook), with one new file");
  const list = await kv.listAppendUnique<FileRef>(
    inbox,
    [upload("f2", "chart.png"), upload("f3", "notes.txt")],
    {
      ttlSeconds: 3600,
    },
  );
  report.equal(
    "the inbox holds each file once, in arrival order",
    list.map((f) => f.id),
    ["f1", "f2", "f3"],
  );
  const ttl = await kv.ttl(inbox);
  report.that(
    "the inbox expires within the hour",
    ttl !== undefined && ttl > 3500 && ttl <= 3600,
    `ttl ${ttl}`,
  );

  report.step(
    "the agent consumes the inbox (a waiting pop: it returns as soon as files are there)",
  );
  const files = await kv.listPopAll<FileRef>(inbox, { waitSeconds: 30 });
  if (files.length > 0)
    report.step(
      `agent: "Received ${files.length} file(s)": ${files.map((f) => f.filename).join(", ")}`,
    );
  report.equal(
    "listPopAll returns every file",
    files.map((f) => f.filename),
    ["report.pdf", "chart.png", "notes.txt"],
  );
  report.equal("the inbox is empty afterwards", await kv.listPopAll(inbox), []);
  report.equal("and its key is gone", await kv.exists(inbox), false);

  report.step("the agent waits for the next upload; the adapter delivers it 50 ms later");
  const started = performance.now();
  const [next] = await Promise.all([
    kv.listPopAll<FileRef>(inbox, { waitSeconds: 30 }),
    new Promise((resolve) => setTimeout(resolve, 50)).then(() =>
      kv.listAppendUnique(inbox, [upload("f4", "slides.key")], { ttlSeconds: 3600 }),
    ),
  ]);
  report.equal(
    "the waiting pop hands the agent the new file",
    next.map((f) => f.filename),
    ["slides.key"],
  );
  report.step(`woken ${(performance.now() - started).toFixed(0)} ms after it started waiting`);
}
