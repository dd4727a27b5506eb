#!/usr/bin/env node
// npm run bench [-- --full] [-- --only drain,scale,ceiling,latency,history,write] [-- --relays 2]
// Measures and prints; it asserts nothing. Targets live in the performance issue and the README.
import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import * as lib from './lib.mjs';
import * as scenarios from './scenarios.mjs';

const { values: flags } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    only: { type: 'string' },
    events: { type: 'string' },
    retained: { type: 'string' },
    'batch-size': { type: 'string', default: '500' },
    'latency-seconds': { type: 'string' },
    rates: { type: 'string', default: '1000,5000' },
    relays: { type: 'string', default: '2' },
    out: { type: 'string', default: 'bench/results/latest.json' },
  },
});
const quick = !flags.full;
const sizes = {
  events: Number(flags.events ?? (quick ? 100_000 : 1_000_000)),
  retained: Number(flags.retained ?? (quick ? 500_000 : 5_000_000)),
  batchSize: Number(flags['batch-size']),
  latencySeconds: Number(flags['latency-seconds'] ?? (quick ? 10 : 60)),
  rates: flags.rates.split(',').map(Number),
};
const only = new Set((flags.only ?? 'drain,scale,ceiling,latency,history,write').split(','));

const pool = new pg.Pool({ connectionString: lib.DATABASE_URL, max: 2 });
const machine = await lib.describeMachine(pool);
console.log(`outbox-relay benchmark (${quick ? 'quick' : 'full'}): ${JSON.stringify(machine)}`);
const results = { machine, sizes, at: new Date().toISOString() };

if (only.has('drain')) {
  results.drain = await scenarios.drain(pool, { events: sizes.events, batchSize: sizes.batchSize });
  console.log('drain', results.drain);
}
if (only.has('scale')) {
  results.scale = await scenarios.drain(pool, { events: sizes.events, batchSize: sizes.batchSize, relays: Number(flags.relays), label: 'scale' });
  console.log('scale', results.scale);
}
if (only.has('ceiling')) {
  results.ceiling = await scenarios.ceiling({ events: sizes.events, batchSize: sizes.batchSize });
  console.log('ceiling', results.ceiling);
}
if (only.has('latency')) {
  results.latency = [];
  for (const rate of sizes.rates) {
    const r = await scenarios.latency(pool, { rate, seconds: sizes.latencySeconds });
    results.latency.push(r);
    console.log('latency', r);
  }
}
if (only.has('history')) {
  const withHistory = await scenarios.drain(pool, { events: sizes.events, batchSize: sizes.batchSize, retained: sizes.retained, label: 'history' });
  results.history = { emptyTable: results.drain?.eventsPerSecond, withRetained: withHistory };
  console.log('history', results.history);
}
if (only.has('write')) {
  results.write = await scenarios.writeOverhead(pool, { seconds: quick ? 5 : 20, clients: 8 });
  console.log('write', results.write);
}
await pool.end();

const rows = [];
if (results.drain) rows.push(['drain', `${results.drain.events.toLocaleString()} events`, `${results.drain.eventsPerSecond.toLocaleString()} events/s`, '≥ 25,000/s']);
if (results.scale) rows.push([`drain, ${results.scale.relays} relays`, `${results.scale.events.toLocaleString()} events`, `${results.scale.eventsPerSecond.toLocaleString()} events/s`, '']);
if (results.ceiling) rows.push(['ceiling (kafkajs alone)', `${results.ceiling.events.toLocaleString()} events`, `${results.ceiling.eventsPerSecond.toLocaleString()} events/s`, '']);
if (results.drain && results.ceiling) rows.push(['drain / ceiling', '', (results.drain.eventsPerSecond / results.ceiling.eventsPerSecond).toFixed(2), '≥ 0.6']);
for (const l of results.latency ?? []) rows.push([`latency @ ${l.targetRate} events/s`, `${l.achievedRate}/s achieved, ${l.eventsPerTransaction}/tx`, `p50 ${l.p50Ms} / p95 ${l.p95Ms} / p99 ${l.p99Ms} / max ${l.maxMs} ms`, l.targetRate === 1000 ? 'p99 ≤ 20 ms' : '']);
if (results.history?.withRetained) {
  const h = results.history;
  rows.push([`drain, ${h.withRetained.retained.toLocaleString()} published rows kept`, '', `${h.withRetained.eventsPerSecond.toLocaleString()} events/s${h.emptyTable ? ` (${(h.withRetained.eventsPerSecond / h.emptyTable).toFixed(2)}× empty)` : ''}`, '≥ 0.9×']);
}
if (results.drain) rows.push(['relay peak RSS (drain)', '', `${results.drain.peakRssMb} MB`, '≤ 200 MB']);
if (results.write) {
  const w = results.write;
  const base = w['domain row only'];
  rows.push([`app tx/s, ${w.clients} clients`, `${base} domain row only`, `${w['outbox, notify on']} with outbox (${(w['outbox, notify on'] / base).toFixed(2)}×); ${w['outbox, notify off']} with notify off (${(w['outbox, notify off'] / base).toFixed(2)}×)`, '']);
}
console.log('\n| scenario | size | result | target |\n|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);

mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(flags.out, JSON.stringify(results, null, 2));
console.log(`\nwrote ${flags.out}`);
