'use strict';
/**
 * Fleet benchmark helper (not shipped), preloaded into a drainer process (`node -r bench/drain-cpu-probe.js …`):
 * notes the process's CPU time (process.cpuUsage) and monotonic time when a /prestop request arrives at one of its
 * HTTP servers and when it creates each status-override PUT, from node's own diagnostics channels (no patching, no
 * change to the drainer). So the bench can tell how much CPU a drain spent between /prestop and its PUTs.
 *
 * Prints nothing while events come in (printing is CPU in the window measured); one second after the last event it
 * prints one line per event: {"drainProbe":"prestop"|"put","port":p,"atMs":epoch,"hrUs":monotonic µs,"cpuUs":µs}.
 * `port` is the drainer's own port for "prestop" and the Eureka address's port (the bench's proxy) for "put".
 * hrUs is on the clock of V8's CPU profiles (CLOCK_MONOTONIC), so a profile can be cut to the same window.
 */
const channels = require('node:diagnostics_channel');

const events = [];
let flush;
const note = (kind, port) => {
  const cpu = process.cpuUsage();
  events.push({ drainProbe: kind, port, atMs: Date.now(), hrUs: Number(process.hrtime.bigint() / 1000n), cpuUs: cpu.user + cpu.system });
  clearTimeout(flush);
  flush = setTimeout(() => {
    process.stdout.write(events.splice(0).map((e) => `${JSON.stringify(e)}\n`).join(''));
  }, 1_000);
  flush.unref();
};

channels.subscribe('http.server.request.start', ({ request, server }) => {
  if (request.url && request.url.startsWith('/prestop')) note('prestop', server.address().port);
});
channels.subscribe('http.client.request.start', ({ request }) => {
  if (request.method !== 'PUT' || !/\/status\?(.*&)?value=OUT_OF_SERVICE/.test(request.path)) return;
  const host = String(request.getHeader('host') || '');
  note('put', Number(host.slice(host.lastIndexOf(':') + 1)));
});
