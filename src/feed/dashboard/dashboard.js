// The azr dashboard: subscribes to the feed (azr.v1), folds run events into uPlot charts and tables,
// reconnects with backoff and resumes from the last seq it has. Plain ES module, served as is (no build step).
import uPlot from '/vendor/uPlot.esm.js';

const PROTOCOL = 'azr.v1';
const ROLES = ['propose', 'solve'];
const TASKS = ['deduction', 'abduction', 'induction'];
const TASK_COLORS = { deduction: '#2563eb', abduction: '#db2777', induction: '#059669' };
const QUEUE_COLORS = ['#4f46e5', '#ea580c', '#0891b2', '#65a30d', '#9333ea', '#ca8a04'];
/** step.finished phases in stacking order (src/streams/events.ts PHASES), each with its colour. */
const PHASE_COLORS = {
  propose: '#4f46e5',
  validate: '#818cf8',
  learnability: '#0891b2',
  learnabilityVerify: '#67e8f9',
  buffer: '#a3a3a3',
  solve: '#059669',
  verify: '#6ee7b7',
  advantages: '#ca8a04',
  learn: '#dc2626',
  probe: '#9333ea',
  checkpoint: '#78716c',
};
const MAX_PROPOSALS = 15;
const MAX_QUEUE_POINTS = 1200;
const RENDER_EVERY_MS = 200;

// ---------------------------------------------------------------------------------------------------------------
// Run state, folded from events

const state = {
  runId: null,
  scenario: null,
  source: null,
  nextSeq: 0,
  step: 0,
  policyVersion: null,
  gaps: 0,
  skipped: 0,
  finished: null,
  /** the base-model build, from base.progress: { state, trainStep, totalSteps, probe (latest measured) } */
  base: null,
  /** step → Map(role:task → [sum, n]) */
  rewards: new Map(),
  /** step → health event */
  health: new Map(),
  /** [{ step, accuracy }] */
  probes: [],
  /** step → { loss, entropy } */
  learner: new Map(),
  /** step → { durationMs, phases } (step.finished) */
  stepTimes: new Map(),
  /** queue series keys, e.g. 'depth:scored→learner', 'credit:scored→learner' */
  queueSeries: [],
  queueLatest: new Map(),
  /** rows [tSeconds, ...one value per queue series] */
  queueRows: [],
  buffers: null,
  /** actor → { state, step } */
  actors: new Map(),
  proposals: [],
};

const dirty = { charts: true, queues: true, buffers: true, actors: true, proposals: true, header: true };

function apply(e) {
  if (e.step > state.step) state.step = e.step;
  switch (e.type) {
    case 'base.progress':
      state.base = {
        state: e.state,
        trainStep: e.trainStep,
        totalSteps: e.totalSteps,
        probe: e.probe ?? state.base?.probe ?? null,
      };
      break;
    case 'run.started':
      state.scenario = { ...(state.scenario ?? {}), ...summarize(e.scenario), backend: e.backend };
      break;
    case 'run.finished':
      state.finished = e.reason;
      break;
    case 'rollout.scored': {
      let groups = state.rewards.get(e.step);
      if (groups === undefined) state.rewards.set(e.step, (groups = new Map()));
      const key = `${e.role}:${e.task}`;
      const sum = groups.get(key) ?? [0, 0];
      sum[0] += e.reward;
      sum[1] += 1;
      groups.set(key, sum);
      dirty.charts = true;
      break;
    }
    case 'proposal.validated':
      state.proposals.unshift(e);
      if (state.proposals.length > MAX_PROPOSALS) state.proposals.length = MAX_PROPOSALS;
      dirty.proposals = true;
      break;
    case 'learner.step':
      state.learner.set(e.step, { loss: e.loss, entropy: e.entropy });
      state.policyVersion = e.policyVersion;
      dirty.charts = true;
      break;
    case 'health':
      state.health.set(e.step, e);
      dirty.charts = true;
      break;
    case 'step.finished':
      state.stepTimes.set(e.step, { durationMs: e.durationMs, phases: e.phases ?? {} });
      dirty.charts = true;
      break;
    case 'probe.evaluated':
      state.probes.push({
        step: e.step,
        accuracy: e.accuracy,
        passAtK: e.sampled?.passAtK.overall ?? null,
        k: e.sampled?.k ?? null,
      });
      dirty.charts = true;
      break;
    case 'buffer.sizes':
      state.buffers = e.sizes;
      dirty.buffers = true;
      break;
    case 'queue.depth':
      addQueuePoint(e);
      break;
    case 'actor.state':
      state.actors.set(e.actor, { state: e.state, step: e.step });
      dirty.actors = true;
      break;
    default:
      break;
  }
  dirty.header = true;
}

function summarize(scenario) {
  const pick = (k, type) => (typeof scenario?.[k] === type ? scenario[k] : null);
  return {
    name: pick('name', 'string'),
    mode: pick('mode', 'string'),
    seed: scenario?.seed ?? null,
    steps: pick('steps', 'number'),
  };
}

function addQueuePoint(e) {
  state.queueLatest.set(e.queue, { depth: e.depth, credit: e.credit });
  const keys = [`depth:${e.queue}`];
  if (e.credit !== null) keys.push(`credit:${e.queue}`);
  let added = false;
  for (const key of keys) {
    if (!state.queueSeries.includes(key)) {
      state.queueSeries.push(key);
      added = true;
    }
  }
  if (added) {
    // A new series: earlier rows get an empty value for it.
    for (const row of state.queueRows) row.push(null);
    charts.queues?.destroy();
    charts.queues = null;
  }
  const row = [e.t / 1000];
  for (const key of state.queueSeries) {
    const [kind, name] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
    const latest = state.queueLatest.get(name);
    row.push(latest === undefined ? null : kind === 'depth' ? latest.depth : latest.credit);
  }
  const last = state.queueRows[state.queueRows.length - 1];
  if (last !== undefined && last[0] === row[0]) state.queueRows[state.queueRows.length - 1] = row;
  else state.queueRows.push(row);
  if (state.queueRows.length > MAX_QUEUE_POINTS) state.queueRows.splice(0, state.queueRows.length - MAX_QUEUE_POINTS);
  dirty.queues = true;
}

// ---------------------------------------------------------------------------------------------------------------
// Charts

const charts = {
  rewards: null,
  valid: null,
  learnability: null,
  reasoning: null,
  probe: null,
  learner: null,
  phases: null,
  queues: null,
};

const byStep = (map) => [...map.keys()].sort((a, b) => a - b);

/** Whole-number ticks for step axes (uPlot would otherwise label 1.2, 1.4 … early in a run). */
const STEP_INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000];

function chartOptions(el, series, extra = {}) {
  const stepAxis = { label: 'step', size: 36, incrs: STEP_INCRS };
  return {
    width: Math.max(240, el.clientWidth),
    height: 210,
    cursor: { drag: { x: false, y: false } },
    legend: { live: false },
    scales: { x: { time: false }, ...(extra.scales ?? {}) },
    axes: extra.axes ?? [extra.xLabel === undefined ? stepAxis : { label: extra.xLabel, size: 36 }, { size: 44 }],
    series: [{ label: extra.xLabel ?? 'step' }, ...series],
  };
}

function line(label, stroke, more = {}) {
  return { label, stroke, width: 2, points: { show: false }, spanGaps: true, ...more };
}

function setChart(name, el, series, data, extra) {
  if (charts[name] === null) charts[name] = new uPlot(chartOptions(el, series, extra), data, el);
  else charts[name].setData(data);
  el.dataset.points = String(data[0].length);
}

function renderCharts() {
  const rewardSteps = byStep(state.rewards);
  const rewardSeries = [];
  const rewardData = [rewardSteps];
  for (const role of ROLES)
    for (const task of TASKS) {
      rewardSeries.push(line(`${role} ${task}`, TASK_COLORS[task], role === 'propose' ? { dash: [6, 4] } : {}));
      rewardData.push(
        rewardSteps.map((s) => {
          const sum = state.rewards.get(s).get(`${role}:${task}`);
          return sum === undefined ? null : sum[0] / sum[1];
        }),
      );
    }
  setChart('rewards', byId('chart-rewards'), rewardSeries, rewardData, { scales: { y: { range: [-1, 1] } } });

  const healthSteps = byStep(state.health);
  const share = (k) => healthSteps.map((s) => state.health.get(s)[k]);
  const unit = { scales: { y: { range: [0, 1] } } };
  setChart(
    'valid',
    byId('chart-valid'),
    [line('valid', '#4f46e5', { fill: 'rgba(79,70,229,0.08)' }), line('learnable', '#15803d')],
    [healthSteps, share('validShare'), share('learnableShare')],
    unit,
  );
  setChart(
    'learnability',
    byId('chart-learnability'),
    [
      line('mean learnability', '#0891b2', { fill: 'rgba(8,145,178,0.08)' }),
      line('zero-advantage groups', '#b45309', { dash: [6, 4] }),
    ],
    [healthSteps, share('meanLearnability'), share('zeroAdvantageShare')],
    unit,
  );

  const probeSteps = state.probes.map((p) => p.step);
  setChart(
    'probe',
    byId('chart-probe'),
    [
      line('overall', '#111827', { width: 3 }),
      ...TASKS.map((t) => line(t, TASK_COLORS[t])),
      line(`pass@${state.probes.find((p) => p.k !== null)?.k ?? 'k'} overall`, '#111827', { dash: [6, 4], width: 2 }),
    ],
    [
      probeSteps,
      state.probes.map((p) => p.accuracy.overall),
      ...TASKS.map((t) => state.probes.map((p) => p.accuracy[t])),
      state.probes.map((p) => p.passAtK),
    ],
    { scales: { y: { range: [0, 1] } } },
  );

  // the paper's "responses grow longer": per type, the share of solver rollouts that reasoned, and trace length
  const reasoning = (t, k) =>
    healthSteps.map((s) => {
      const r = state.health.get(s).reasoning?.[t];
      return r === undefined || r === null ? null : r[k];
    });
  setChart(
    'reasoning',
    byId('chart-reasoning'),
    [
      ...TASKS.map((t) => line(`${t} trace share`, TASK_COLORS[t])),
      ...TASKS.map((t) => line(`${t} lexemes`, TASK_COLORS[t], { dash: [6, 4], scale: 'lexemes' })),
    ],
    [healthSteps, ...TASKS.map((t) => reasoning(t, 'share')), ...TASKS.map((t) => reasoning(t, 'meanLexemes'))],
    {
      scales: { y: { range: [0, 1] }, lexemes: { auto: true } },
      axes: [
        { label: 'step', size: 36, incrs: STEP_INCRS },
        { size: 44, label: 'share' },
        { side: 1, scale: 'lexemes', size: 50, label: 'lexemes', grid: { show: false } },
      ],
    },
  );

  const learnerSteps = byStep(state.learner);
  setChart(
    'learner',
    byId('chart-learner'),
    [line('loss', '#4f46e5'), line('entropy', '#ea580c', { scale: 'entropy' })],
    [
      learnerSteps,
      learnerSteps.map((s) => state.learner.get(s).loss),
      learnerSteps.map((s) => state.learner.get(s).entropy),
    ],
    {
      scales: { entropy: { auto: true } },
      axes: [
        { label: 'step', size: 36, incrs: STEP_INCRS },
        { size: 50, label: 'loss' },
        { side: 1, scale: 'entropy', size: 56, label: 'entropy', grid: { show: false } },
      ],
    },
  );
  renderPhases();
}

/** Seconds per phase, stacked: series k is the sum of the first k phases, drawn largest first so each band shows. */
function renderPhases() {
  const steps = byStep(state.stepTimes);
  const names = Object.keys(PHASE_COLORS).filter((p) =>
    steps.some((s) => state.stepTimes.get(s).phases[p] !== undefined),
  );
  const other = steps.map((s) => {
    const t = state.stepTimes.get(s);
    const known = names.reduce((n, p) => n + (t.phases[p] ?? 0), 0);
    return Math.max(0, t.durationMs - known) / 1000;
  });
  const stacked = [];
  let below = other;
  for (const p of names) {
    below = steps.map((s, i) => below[i] + (state.stepTimes.get(s).phases[p] ?? 0) / 1000);
    stacked.push({ p, values: below });
  }
  stacked.reverse();
  const series = stacked.map(({ p }) =>
    line(p, PHASE_COLORS[p], { fill: PHASE_COLORS[p], width: 1, paths: uPlot.paths.stepped({ align: 1 }) }),
  );
  const el = byId('chart-phases');
  // the set of phases grows as a run enters new ones (probe, checkpoint): rebuild the chart then
  if (charts.phases !== null && charts.phases.series.length !== series.length + 1) {
    charts.phases.destroy();
    charts.phases = null;
    el.textContent = '';
  }
  setChart('phases', el, series, [steps, ...stacked.map((x) => x.values)], {
    axes: [
      { label: 'step', size: 36, incrs: STEP_INCRS },
      { size: 50, label: 's' },
    ],
  });
}

function renderQueues() {
  const el = byId('chart-queues');
  const names = [...new Set(state.queueSeries.map((k) => k.slice(k.indexOf(':') + 1)))];
  const series = state.queueSeries.map((key) => {
    const kind = key.slice(0, key.indexOf(':'));
    const name = key.slice(key.indexOf(':') + 1);
    const color = QUEUE_COLORS[names.indexOf(name) % QUEUE_COLORS.length];
    return line(
      `${name} ${kind}`,
      color,
      kind === 'credit' ? { dash: [4, 4], width: 1.5 } : { paths: uPlot.paths.stepped({ align: 1 }) },
    );
  });
  const data = [state.queueRows.map((r) => r[0])];
  state.queueSeries.forEach((_key, i) => data.push(state.queueRows.map((r) => r[i + 1])));
  if (series.length === 0) return;
  setChart('queues', el, series, data, { xLabel: 's' });
}

// ---------------------------------------------------------------------------------------------------------------
// Tables and header

const byId = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function renderBuffers() {
  const box = byId('buffers');
  if (state.buffers === null) return;
  const max = Math.max(1, ...TASKS.map((t) => state.buffers[t]));
  box.replaceChildren(
    ...TASKS.map((t) => {
      const fill = el('div', { class: 'fill' });
      fill.style.width = `${(100 * state.buffers[t]) / max}%`;
      fill.style.background = TASK_COLORS[t];
      return el(
        'div',
        { class: 'bar' },
        el('span', { class: `task ${t}` }, t),
        el('div', { class: 'track' }, fill),
        el('span', { class: 'n' }, state.buffers[t]),
      );
    }),
  );
}

function renderActors() {
  const rows = [...state.actors.entries()].sort(([a], [b]) => a.localeCompare(b));
  byId('actors').replaceChildren(
    ...rows.map(([actor, s]) => el('tr', {}, el('td', {}, actor), el('td', {}, s.state), el('td', {}, s.step))),
  );
}

const show = (v) => (Array.isArray(v) ? v.join('  ·  ') : v === null || v === undefined ? '—' : String(v));

function renderProposals() {
  byId('proposal-count').textContent = `newest first, last ${state.proposals.length}`;
  byId('proposals').replaceChildren(
    ...state.proposals.map((p) =>
      el(
        'tr',
        {},
        el('td', {}, p.step),
        el('td', {}, el('span', { class: `task ${p.task}` }, p.task)),
        el('td', { class: 'program' }, el('pre', {}, p.program)),
        el('td', {}, el('code', {}, show(p.input))),
        el('td', {}, el('code', {}, show(p.output))),
        el(
          'td',
          {},
          p.valid
            ? el('span', { class: 'verdict ok' }, '✓ valid')
            : el('span', { class: 'verdict bad' }, `✗ ${p.error ?? 'invalid'}`),
        ),
        el(
          'td',
          {},
          p.learnability === null ? '—' : p.learnability.toFixed(2),
          p.mcSuccesses.length > 0
            ? el(
                'div',
                { class: 'mc', title: 'Monte Carlo solver outcomes' },
                p.mcSuccesses.map((b) => (b ? '●' : '○')).join(''),
              )
            : '',
        ),
      ),
    ),
  );
}

function renderHeader() {
  byId('run-id').textContent = state.runId ?? 'connecting…';
  const s = state.scenario;
  if (s !== null) {
    const parts = [
      s.name,
      s.mode,
      s.seed !== null && s.seed !== undefined ? `seed ${s.seed}` : null,
      s.steps !== null ? `${s.steps} steps` : null,
      s.backend ? `backend ${s.backend}` : null,
    ];
    byId('run-scenario').textContent = parts.filter((p) => p !== null && p !== undefined).join(' · ');
  }
  const b = state.base;
  byId('fact-base').textContent =
    b === null
      ? '–'
      : [
          b.state === 'built' ? 'built' : `building ${b.trainStep}${b.totalSteps !== null ? ` / ${b.totalSteps}` : ''}`,
          b.probe !== null ? `probe ${(100 * b.probe).toFixed(1)}%` : null,
        ]
          .filter((p) => p !== null)
          .join(' · ');
  byId('fact-step').textContent = s?.steps ? `${state.step} / ${s.steps}` : String(state.step);
  byId('fact-seq').textContent = String(state.nextSeq);
  byId('fact-policy').textContent = state.policyVersion === null ? '–' : `v${state.policyVersion}`;
  byId('fact-gaps').textContent = state.skipped === 0 ? '0' : `${state.skipped} (${state.gaps} gaps)`;
  if (state.finished !== null) setStatus('finished', `finished: ${state.finished}`);
}

function setStatus(kind, text) {
  const node = byId('status');
  node.dataset.state = kind;
  node.textContent = text;
}

let renderTimer = null;
function scheduleRender() {
  if (renderTimer !== null) return;
  renderTimer = setTimeout(() => {
    renderTimer = null;
    render();
  }, RENDER_EVERY_MS);
}

function render() {
  if (dirty.charts) renderCharts();
  if (dirty.queues) renderQueues();
  if (dirty.buffers) renderBuffers();
  if (dirty.actors) renderActors();
  if (dirty.proposals) renderProposals();
  if (dirty.header) renderHeader();
  for (const k of Object.keys(dirty)) dirty[k] = false;
}

window.addEventListener('resize', () => {
  for (const [name, chart] of Object.entries(charts)) {
    if (chart === null) continue;
    const target = byId(`chart-${name}`);
    chart.setSize({ width: Math.max(240, target.clientWidth), height: 210 });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// The connection: validate every message, resume from the last seq after a reconnect

// Every server message is validated with zod against the published protocol schema (/protocol.schema.json, the
// same zod schemas the server uses, as JSON Schema): one validator per op, and per event type inside `events`.
// If zod cannot be loaded, a structural check stands in (and says so in the console).
const isEvent = (e) =>
  e !== null &&
  typeof e === 'object' &&
  e.v === 1 &&
  Number.isInteger(e.seq) &&
  Number.isInteger(e.step) &&
  typeof e.type === 'string' &&
  typeof e.t === 'number';

function structural(m) {
  if (m === null || typeof m !== 'object' || typeof m.op !== 'string') return 'no op';
  switch (m.op) {
    case 'hello':
      return m.protocol === PROTOCOL &&
        typeof m.runId === 'string' &&
        Number.isInteger(m.nextSeq) &&
        Number.isInteger(m.step)
        ? null
        : 'bad hello';
    case 'subscribed':
      return Number.isInteger(m.fromSeq) ? null : 'bad subscribed';
    case 'events':
      return Array.isArray(m.events) && m.events.every(isEvent) ? null : 'bad events';
    case 'gap':
      return Number.isInteger(m.fromSeq) && Number.isInteger(m.toSeq) && m.toSeq >= m.fromSeq ? null : 'bad gap';
    case 'error':
      return typeof m.message === 'string' ? null : 'bad error';
    default:
      return `unknown op ${m.op}`;
  }
}

async function zodValidator() {
  const [{ fromJSONSchema }, core, doc] = await Promise.all([
    import('/vendor/zod/v4/classic/from-json-schema.js'),
    import('/vendor/zod/v4/core/index.js'),
    fetch('/protocol.schema.json').then((r) => r.json()),
  ]);
  core.config({ jitless: true }); // no `new Function` (the page's CSP forbids eval)
  const build = (schema) => fromJSONSchema({ ...schema, $defs: doc.$defs });
  const byOp = new Map();
  const byType = new Map();
  for (const message of doc.$defs.ServerMessage.oneOf) {
    const op = message.properties.op.const;
    if (op !== 'events') {
      byOp.set(op, build(message));
      continue;
    }
    for (const event of message.properties.events.items.oneOf) byType.set(event.properties.type.const, build(event));
  }
  const problem = (result) =>
    result.success ? null : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  return (m) => {
    if (m === null || typeof m !== 'object' || typeof m.op !== 'string') return 'no op';
    if (m.op !== 'events') return byOp.has(m.op) ? problem(byOp.get(m.op).safeParse(m)) : `unknown op ${m.op}`;
    if (!Array.isArray(m.events) || m.events.length === 0) return 'events: not a non-empty array';
    for (const e of m.events) {
      const schema = byType.get(e?.type);
      const p = schema === undefined ? `unknown event type ${e?.type}` : problem(schema.safeParse(e));
      if (p !== null) return `event seq ${e?.seq}: ${p}`;
    }
    return null;
  };
}

let invalidMessage = structural;
try {
  invalidMessage = await zodValidator();
  byId('foot').dataset.validation = 'zod';
} catch (error) {
  console.warn('azr: zod validation unavailable, using structural checks:', error);
  byId('foot').dataset.validation = 'structural';
}

const token = new URLSearchParams(location.search).get('token');
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/${token ? `?token=${encodeURIComponent(token)}` : ''}`;
let attempt = 0;

function connect() {
  setStatus('connecting', attempt === 0 ? 'connecting' : `reconnecting (try ${attempt + 1})`);
  const ws = new WebSocket(wsUrl, PROTOCOL);
  ws.onmessage = (ev) => {
    let m;
    try {
      m = JSON.parse(ev.data);
    } catch {
      console.warn('azr feed: a message that is not JSON');
      return;
    }
    const problem = invalidMessage(m);
    if (problem !== null) {
      console.warn(`azr feed: invalid ${m?.op ?? ''} message dropped (${problem})`);
      // Keep the cursor moving past an invalid batch, so a reconnect does not ask for it again.
      if (m?.op === 'events' && Array.isArray(m.events))
        for (const e of m.events) if (Number.isInteger(e?.seq) && e.seq >= state.nextSeq) state.nextSeq = e.seq + 1;
      return;
    }
    handle(ws, m);
  };
  ws.onclose = (ev) => {
    if (state.finished !== null) {
      // The page holds the whole run up to run.finished (`azr run` closes its feed when the run ends): nothing to
      // come back for, and the status stays "finished" instead of retrying forever.
      setStatus('finished', `finished: ${state.finished} · feed closed`);
      return;
    }
    const delay = Math.min(10_000, 500 * 2 ** attempt);
    attempt += 1;
    const why = ev.code === 4008 ? 'too slow, cut off' : `closed ${ev.code}`;
    setStatus('reconnecting', `${why} · retry in ${(delay / 1000).toFixed(1)} s`);
    setTimeout(connect, delay);
  };
}

function handle(ws, m) {
  switch (m.op) {
    case 'hello':
      if (state.runId !== null && state.runId !== m.runId) {
        // A different run now serves this port: start over.
        location.reload();
        return;
      }
      attempt = 0;
      state.runId = m.runId;
      state.source = m.source;
      if (m.scenario !== null) state.scenario = m.scenario;
      if (m.step > state.step) state.step = m.step;
      setStatus(m.source === 'replay' ? 'replay' : 'live', m.source === 'replay' ? 'replay' : 'live');
      ws.send(JSON.stringify({ op: 'subscribe', fromSeq: state.nextSeq }));
      dirty.header = true;
      break;
    case 'events':
      for (const e of m.events) {
        if (e.seq < state.nextSeq) continue;
        apply(e);
        state.nextSeq = e.seq + 1;
      }
      break;
    case 'gap':
      state.gaps += 1;
      state.skipped += m.toSeq - m.fromSeq + 1;
      if (m.toSeq + 1 > state.nextSeq) state.nextSeq = m.toSeq + 1;
      dirty.header = true;
      break;
    case 'error':
      console.warn('azr feed error:', m.message);
      break;
    default:
      break;
  }
  scheduleRender();
}

window.azrDashboard = { state, charts };
connect();
