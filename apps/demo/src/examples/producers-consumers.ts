import { setImmediate as yieldToOthers } from "node:timers/promises";
import type { KVContext } from "@kv/context";
import type { Report } from "../report.js";

interface Job {
  id: string;
  producer: number;
}

const PRODUCERS = 4;
const JOBS_PER_PRODUCER = 50;
const CONSUMERS = 3;

/**
 * Several producers append to one inbox at once while consumers wait on it: every job
 * must be consumed exactly once, whatever the interleaving. The consumers do not poll:
 * `listPopAll(key, { waitSeconds })` sleeps until the inbox holds items, and each batch
 * goes to exactly one of them.
 */
export async function producersConsumers(context: KVContext, report: Report): Promise<void> {
  report.section(`5) Inbox under load: ${PRODUCERS} producers, ${CONSUMERS} consumers`);
  const kv = context.kv();
  const inbox = `inbox:jobs-${context.runId}`;
  let producing = PRODUCERS;

  const producer = async (p: number): Promise<void> => {
    for (let i = 0; i < JOBS_PER_PRODUCER; i++) {
      await kv.listAppendUnique<Job>(inbox, [{ id: `p${p}-${i}`, producer: p }], {
        ttlSeconds: 3600,
      });
      if (i % 5 === 0) await yieldToOthers();
    }
    producing--;
  };

  const consumed: string[][] = Array.from({ length: CONSUMERS }, () => []);
  let waits = 0;
  const consumer = async (c: number): Promise<void> => {
    // Wait for work (a short wait, re-armed) until the producers are done and it is drained.
    for (;;) {
      const done = producing === 0;
      waits++;
      const jobs = await kv.listPopAll<Job>(inbox, { waitSeconds: 0.2 });
      for (const job of jobs) {
        consumed[c]!.push(job.id);
        await yieldToOthers(); // "handling" a job takes a while: the others pop meanwhile
      }
      if (done && jobs.length === 0) return;
    }
  };

  report.step(
    `${PRODUCERS} × ${JOBS_PER_PRODUCER} jobs appended to ${inbox} while ${CONSUMERS} consumers wait on it`,
  );
  await Promise.all([
    ...Array.from({ length: PRODUCERS }, (_, p) => producer(p)),
    ...Array.from({ length: CONSUMERS }, (_, c) => consumer(c)),
  ]);

  consumed.forEach((ids, c) => {
    report.step(`consumer ${c} took ${ids.length} jobs`);
  });
  report.step(`${waits} waiting pops in all (no polling loop: a wait ends when jobs arrive)`);
  const all = consumed.flat();
  const expected = PRODUCERS * JOBS_PER_PRODUCER;
  report.equal("every job was consumed", all.length, expected);
  report.equal("no job was consumed twice", new Set(all).size, all.length);
  const missing = [];
  for (let p = 0; p < PRODUCERS; p++) {
    for (let i = 0; i < JOBS_PER_PRODUCER; i++)
      if (!all.includes(`p${p}-${i}`)) missing.push(`p${p}-${i}`);
  }
  report.equal("no job was lost", missing, []);
  report.equal("the inbox is empty", await kv.exists(inbox), false);
}
