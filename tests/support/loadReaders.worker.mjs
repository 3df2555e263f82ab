// Worker thread for load tests and the bench: N feed clients that read everything and check seq coverage.
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';

const { url, count, fromSeq, protocol } = workerData;
const EVENTS_HEAD = '{"op":"events","events":[';
const SEQ = /\{"v":1,"runId":"(?:[^"\\]|\\.)*","seq":(\d+)/g;
const clients = [];
let subscribed = 0;

for (let i = 0; i < count; i++) {
  const c = {
    next: fromSeq,
    events: 0,
    gaps: 0,
    skipped: 0,
    duplicates: 0,
    outOfOrder: 0,
    closed: null,
    finished: false,
  };
  const ws = new WebSocket(url, protocol, { skipUTF8Validation: true });
  c.ws = ws;
  ws.on('message', (data) => {
    const text = data.toString('utf8');
    if (text.startsWith(EVENTS_HEAD)) {
      // Events are serialized envelope first ({"v":1,"runId":…,"seq":N,…}), so seqs can be read without parsing.
      SEQ.lastIndex = 0;
      for (let m = SEQ.exec(text); m !== null; m = SEQ.exec(text)) {
        const seq = Number(m[1]);
        if (seq < c.next) c.duplicates += 1;
        else if (seq > c.next) c.outOfOrder += 1;
        c.next = Math.max(c.next, seq + 1);
        c.events += 1;
      }
      if (text.includes('"type":"run.finished"')) c.finished = true;
      return;
    }
    const m = JSON.parse(text);
    if (m.op === 'hello') {
      ws.send(JSON.stringify({ op: 'subscribe', fromSeq }));
    } else if (m.op === 'subscribed') {
      subscribed += 1;
      if (subscribed === count) parentPort.postMessage({ kind: 'ready' });
    } else if (m.op === 'events') {
      for (const e of m.events) {
        if (e.seq < c.next) c.duplicates += 1;
        else if (e.seq > c.next) c.outOfOrder += 1;
        c.next = Math.max(c.next, e.seq + 1);
        c.events += 1;
        if (e.type === 'run.finished') c.finished = true;
      }
    } else if (m.op === 'gap') {
      c.gaps += 1;
      c.skipped += m.toSeq - m.fromSeq + 1;
      if (m.fromSeq !== c.next) c.outOfOrder += 1;
      c.next = Math.max(c.next, m.toSeq + 1);
    }
  });
  ws.on('close', (code) => (c.closed = code));
  ws.on('error', () => undefined);
  clients.push(c);
}

parentPort.on('message', (message) => {
  if (message === 'report') {
    parentPort.postMessage({ kind: 'report', clients: clients.map(({ ws: _ws, ...stats }) => stats) });
  } else if (message === 'close') {
    for (const c of clients) c.ws.terminate();
    parentPort.close();
  }
});
