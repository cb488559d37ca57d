#!/usr/bin/env node
// A bounded load of reads and writes against the swarm stack's proxy, for .ci/e2e-swarm.sh.
// usage: node .ci/swarm-load.js URL TOKEN PREFIX [SECONDS]
// Runs until SIGTERM (or SECONDS, 300 at most), then checks that every acknowledged write (201)
// reads back, and prints one JSON line: requests, failures (reads, writes), acknowledged, lost,
// and a few failure samples. A failure is a network error or an unexpected status.
'use strict';
const http = require('node:http');

const [url, token, prefix, seconds = '300'] = process.argv.slice(2);
if (!url || !token || !/^[A-Za-z0-9]{1,4}$/.test(prefix ?? '')) {
  console.error('usage: swarm-load.js URL TOKEN PREFIX(1-4 letters or digits) [SECONDS]');
  process.exit(2);
}
const readers = 4;
const writers = 2;
const pauseMs = { read: 20, write: 40 }; // bounded: a few hundred requests a second at most
const agent = new http.Agent({ keepAlive: true, maxSockets: readers + writers + 2 });
const counts = { requests: 0, failures: 0, readFailures: 0, writeFailures: 0, acknowledged: 0, lost: 0 };
const samples = [];
const acknowledged = [];
let running = true;
let written = 0;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function send(method, path, body) {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(new URL(path, url), {
      method,
      agent,
      timeout: 20_000,
      headers: { Authorization: `Bearer ${token}`, ...(payload && { 'Content-Type': 'application/json' }) },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode }));
      res.on('error', (error) => resolve({ error: error.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (error) => resolve({ error: error.message }));
    req.end(payload);
  });
}

function count(kind, method, path, answer, expected) {
  counts.requests++;
  if (answer.status === expected) return true;
  counts.failures++;
  counts[kind === 'read' ? 'readFailures' : 'writeFailures']++;
  if (samples.length < 5) samples.push(`${method} ${path}: ${answer.error ?? answer.status}`);
  return false;
}

async function reader(n) {
  for (let i = 0; running; i++) {
    const path = (n + i) % 2 ? '/api/v1.0/pxcodes/039' : `/api/v1.0/pxcodes/?per_page=10&page=${1 + (i % 5)}`;
    count('read', 'GET', path, await send('GET', path), 200);
    await sleep(pauseMs.read);
  }
}

async function writer() {
  while (running) {
    const pxcode = `${prefix}-${++written}`;
    const answer = await send('POST', '/api/v1.0/pxcodes/', { pxcode, procedure: `LOAD ${pxcode}` });
    if (count('write', 'POST', pxcode, answer, 201)) acknowledged.push(pxcode);
    await sleep(pauseMs.write);
  }
}

// After the load: every acknowledged write must read back (on whichever replica answers).
async function verify() {
  counts.acknowledged = acknowledged.length;
  for (const pxcode of acknowledged) {
    let answer = await send('GET', `/api/v1.0/pxcodes/${pxcode}`);
    if (answer.status !== 200 && answer.status !== 404) answer = await send('GET', `/api/v1.0/pxcodes/${pxcode}`);
    if (answer.status !== 200) {
      counts.lost++;
      if (samples.length < 10) samples.push(`lost ${pxcode}: ${answer.error ?? answer.status}`);
    }
  }
}

const stop = () => (running = false);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setTimeout(stop, Math.min(Number(seconds), 300) * 1000).unref();

Promise.all([...Array.from({ length: readers }, (_, n) => reader(n)), ...Array.from({ length: writers }, writer)])
  .then(verify)
  .then(() => {
    console.log(JSON.stringify({ ...counts, samples }));
    agent.destroy();
  });
