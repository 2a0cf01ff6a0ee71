// centrifuge-js's subscriber for the benchmark (Node, with the `ws` package).
//
//   node bench/js/sub.mjs '{"url": ..., "channel": ..., "mode": "count", "n": 100000,
//                           "codec": "json"}'
//
// The same job and the same report as the Python subscribers (bench/common.py): a line
// {"event":"ready"} once subscribed, then {"event":"result", ...}; offsets must run
// 1..n; CPU from process.cpuUsage() (this process, every thread, user + system) from
// "ready" to the last publication; in the latency mode the receive time is
// process.hrtime.bigint(), CLOCK_MONOTONIC like the publisher's time.monotonic_ns().
// The Protobuf build is centrifuge-js's own entry point 'centrifuge/build/protobuf'.

import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

const spec = JSON.parse(process.argv[2]);
const protobuf = spec.codec === 'protobuf';
const { Centrifuge } = protobuf
  ? await import('centrifuge/build/protobuf')
  : await import('centrifuge');

function emit(event, fields, then) {
  // A line longer than the pipe's buffer (latency samples) is written in parts after
  // write() returns: exit only from its callback, or the report is cut.
  process.stdout.write(JSON.stringify({ event, ...fields }) + '\n', then);
}

function packageVersion(name) {
  const url = new URL(`./node_modules/${name}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')).version;
}

const decoder = new TextDecoder();
const latency = spec.mode === 'latency';
const tally = {
  received: 0, expected: 1, gaps: 0, missing: 0, duplicates: 0, lost: 0, reconnects: 0,
  firstAt: 0n, lastAt: 0n, cpuReady: null, samples: [], done: false,
};

function cpuSeconds(since) {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

function result(complete, extra) {
  return {
    complete,
    received: tally.received,
    expected: spec.n,
    gaps: tally.gaps,
    missing: tally.missing,
    duplicates: tally.duplicates,
    lost: tally.lost,
    reconnects: tally.reconnects,
    cpu_s: cpuSeconds(tally.cpuReady),
    span_s: Number(tally.lastAt - tally.firstAt) / 1e9,
    samples_ns: tally.samples,
    ...extra,
  };
}

function finish() {
  tally.done = true;
  const clean = tally.received === spec.n && tally.expected === spec.n + 1 &&
    !(tally.gaps || tally.duplicates || tally.lost || tally.reconnects);
  const report = result(clean, {});
  client.disconnect();
  emit('result', report, () => process.exit(0));
}

let client = null;

function run() {
  client = new Centrifuge(spec.url, { websocket: WebSocket });
  client.on('connecting', () => {
    if (tally.cpuReady !== null) tally.reconnects += 1;
  });
  const sub = client.newSubscription(spec.channel);
  sub.on('publication', (ctx) => {
    const now = process.hrtime.bigint();
    if (latency) {
      const data = protobuf ? JSON.parse(decoder.decode(ctx.data)) : ctx.data;
      tally.samples.push(Number(now - BigInt(data.t)));
    }
    if (tally.received === 0) tally.firstAt = now;
    tally.lastAt = now;
    tally.received += 1;
    const offset = ctx.offset;
    if (offset !== tally.expected) {
      if (offset > tally.expected) {
        tally.gaps += 1;
        tally.missing += offset - tally.expected;
      } else {
        tally.duplicates += 1;
        return;
      }
    }
    tally.expected = offset + 1;
    if (offset >= spec.n) finish();
  });
  sub.once('subscribed', () => {
    tally.cpuReady = process.cpuUsage();
    watchdog();
    emit('ready', {});
  });
  sub.subscribe();
  client.connect();
}

// Report what arrived and stop when publications stop coming (bench/common.py).
function watchdog() {
  let seen = -1;
  let since = Date.now();
  setInterval(() => {
    if (tally.done) return;
    const now = Date.now();
    if (tally.received !== seen) {
      seen = tally.received;
      since = now;
    }
    const limit = (tally.received ? spec.idle_timeout : spec.start_timeout) * 1000;
    if (now - since > limit) {
      tally.done = true;
      emit('result', result(false, { reason: 'stalled' }), () => process.exit(3));
    }
  }, 250);
}

if (spec.mode === 'probe') {
  emit('result', {
    codecs: ['json', 'protobuf'],
    json_libraries: ['JSON.parse'],
    versions: { centrifuge: packageVersion('centrifuge'), ws: packageVersion('ws') },
    node: process.versions.node,
  }, () => process.exit(0));
} else {
  run();
}
